using System.CommandLine;
using Microsoft.Extensions.DependencyInjection;

namespace FusionBench.Cli.Commands;

internal static class DescribeCommand
{
    public static Command Create(CliContext context)
    {
        var name = new Argument<string>("NAME") { Description = "A method name, as `fusionbench list` shows it." };
        var command = new Command("describe", "Show a fusion method and every parameter with its type, default and meaning.") { name };
        command.SetAction(parse => CommandRunner.Run(context, () =>
        {
            using var services = context.Services(parse);
            var provider = services.GetRequiredService<IFusionAlgorithmProvider>();
            string method = parse.GetValue(name)!;
            var info = provider.Get(method).Info;
            var o = context.Out;
            o.WriteLine($"{method}: {info.DisplayName} ({info.Category.ToString().ToLowerInvariant()})");
            o.WriteLine(info.Summary);
            if (info.PaperUrl is not null) o.WriteLine($"Paper: {info.PaperUrl}");
            o.WriteLine();
            var parameters = provider.DescribeParameters(method);
            if (parameters.Count == 0)
            {
                o.WriteLine("Parameters: none.");
                return 0;
            }
            o.WriteLine("Parameters (set with --set NAME=VALUE):");
            TextTable.Write(o, new[] { "name", "type", "default", "meaning" },
                parameters.Select(p => new[] { p.Name, p.TypeName, p.DefaultText, p.Description }).ToList());
            return 0;
        }));
        return command;
    }
}
