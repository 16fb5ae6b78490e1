namespace FusionBench.Suites;

/// <summary>How the suites write a folder (a zoo, a converted model): into a temporary sibling that replaces it only when complete.</summary>
internal static class AtomicFolder
{
    /// <summary>
    /// Runs <paramref name="build"/> on an empty <c>FOLDER.building</c> folder and moves it to <paramref name="folder"/>
    /// when it returns, so an interrupted or failed build never leaves a half-written folder (nor its temporary one).
    /// </summary>
    public static T Write<T>(string folder, Func<string, T> build)
    {
        string building = folder.TrimEnd('/', '\\') + ".building";
        if (Directory.Exists(building)) Directory.Delete(building, recursive: true);
        Directory.CreateDirectory(building);
        try
        {
            var result = build(building);
            if (Directory.Exists(folder)) Directory.Delete(folder, recursive: true);
            Directory.Move(building, folder);
            return result;
        }
        catch
        {
            try { Directory.Delete(building, recursive: true); } catch (IOException) { }
            throw;
        }
    }
}
