using System.CommandLine;
using FusionBench.Core;
using Microsoft.Extensions.DependencyInjection;

namespace FusionBench.Cli.Commands;

internal static class ListCommand
{
    public static Command Create(CliContext context)
    {
        var command = new Command("list", "List the registered fusion methods: name, category, display name and paper.");
        command.SetAction(parse => CommandRunner.Run(context, () =>
        {
            using var services = context.Services(parse);
            var provider = services.GetRequiredService<IFusionAlgorithmProvider>();
            var rows = provider.Registrations.Select(r =>
            {
                var info = provider.Get(r.Name).Info;
                return new[] { r.Name, info.Category.ToString().ToLowerInvariant(), info.DisplayName, info.PaperUrl ?? "" };
            }).ToList();
            TextTable.Write(context.Out, new[] { "name", "category", "display name", "paper" }, rows);
            return 0;
        }));
        return command;
    }
}
