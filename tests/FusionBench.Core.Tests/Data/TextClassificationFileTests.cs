using FusionBench.Core.Data;
using FusionBench.Core.Tests.TestSupport;
using Xunit;

namespace FusionBench.Core.Tests.Data;

/// <summary>The user's text data: CSV, TSV and JSON Lines with text and label columns, and one clear error per bad file.</summary>
public class TextClassificationFileTests
{
    private static readonly string[] Labels = { "neg", "pos" };

    [Fact]
    public void Csv_Tsv_AndJsonLines_ReadTheSameExamples_WithQuotesCommasAndLabelNamesOrIds()
    {
        using var dir = TestData.NewTempDir();
        File.WriteAllText(dir.File("a.csv"), "id,text,label\n1,\"good, very \"\"good\"\" film\",pos\n2,bad film,0\n3,\"two\nlines\",1\n");
        File.WriteAllText(dir.File("a.tsv"), "label\ttext\npos\t\"good, very \"\"good\"\" film\"\nneg\tbad film\n1\t\"two\nlines\"\n");
        File.WriteAllText(dir.File("a.jsonl"), "{\"text\": \"good, very \\\"good\\\" film\", \"label\": \"pos\"}\n\n{\"text\": \"bad film\", \"label\": 0}\n{\"text\": \"two\\nlines\", \"label\": \"1\"}\n");
        var expected = new[] { new TextExample("good, very \"good\" film", 1), new TextExample("bad film", 0), new TextExample("two\nlines", 1) };
        foreach (var file in new[] { "a.csv", "a.tsv", "a.jsonl" })
            Assert.Equal(expected, TextClassificationFile.ReadAll(dir.File(file), 2, Labels));
    }

    [Theory]
    [InlineData("a.csv", "text,y\nhello,1\n", "no 'label' column")]
    [InlineData("a.csv", "label\n1\n", "no 'text' column")]
    [InlineData("a.csv", "", "empty")]
    [InlineData("a.csv", "text,label\nhello,pos\nworld,maybe\n", "line 3: unknown label 'maybe'")]
    [InlineData("a.csv", "text,label\nhello,2\n", "line 2: label 2 is outside the head's 2 classes")]
    [InlineData("a.csv", "text,label\nhello,\n", "line 2: empty label")]
    [InlineData("a.jsonl", "{\"text\": \"x\", \"label\": 1}\n{\"text\": \"y\"\n", "line 2: not valid JSON")]
    [InlineData("a.jsonl", "{\"text\": 3, \"label\": 1}\n", "line 1: 'text' is not a string")]
    [InlineData("a.txt", "text,label\n", "unknown data file kind '.txt'")]
    [InlineData("a.tsv", "text\tlabel\nsaid \"hi\" twice\t1\n", "line 2: malformed row")]
    public void BadFiles_AreOneClearErrorNamingTheFileAndLine(string name, string content, string message)
    {
        using var dir = TestData.NewTempDir();
        File.WriteAllText(dir.File(name), content);
        var e = Assert.Throws<FusionException>(() => TextClassificationFile.ReadAll(dir.File(name), 2, Labels));
        Assert.Contains(dir.File(name), e.Message);
        Assert.Contains(message, e.Message);
    }

    [Fact]
    public void LabelNames_WithoutId2Label_SayThatOnlyIdsAreKnown()
    {
        using var dir = TestData.NewTempDir();
        File.WriteAllText(dir.File("a.csv"), "text,label\nhello,pos\n");
        var e = Assert.Throws<FusionException>(() => TextClassificationFile.ReadAll(dir.File("a.csv"), 2));
        Assert.Contains("no id2label", e.Message);
    }
}
