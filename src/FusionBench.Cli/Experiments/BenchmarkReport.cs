using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using FusionBench.Core;

namespace FusionBench.Cli.Experiments;

/// <summary>Writes a benchmark's results.json, results.md, the PNG plots (ScottPlot) and report.html.</summary>
internal static class BenchmarkReport
{
    /// <summary>FusionBench's CLIP-ViT-B/32 eight-task averages for the methods both report (fusion_bench docs, clip_vit.md).</summary>
    public static readonly IReadOnlyDictionary<string, double> FusionBenchClipVitB32 = new Dictionary<string, double>
    {
        ["pretrained"] = 48.2, ["simple_average"] = 66.5, ["task_arithmetic"] = 68.0, ["task_wise_adamerging"] = 68.7,
        ["fisher_merging"] = 70.6, ["ties_merging"] = 72.2, ["regmean"] = 80.5, ["layer_wise_adamerging"] = 82.6,
        ["weight_ensembling_moe"] = 89.2, ["individual"] = 90.3, ["wudi"] = 84.5,
    };

    public sealed record Entry(string Name, TaskPoolReport Report, IReadOnlyDictionary<string, object?> Parameters, double WallSeconds, long? PeakMemoryBytes);

    public static void Write(string dir, string suite, string study, IReadOnlyList<Entry> entries, IReadOnlyDictionary<string, IReadOnlyList<(double Lambda, double Accuracy)>> curves,
        IReadOnlyDictionary<string, IReadOnlyDictionary<string, double>> robustness, IReadOnlyList<string> unseenTasks, double totalSeconds)
    {
        Directory.CreateDirectory(dir);
        var spearman = Spearman(entries);
        // results.json
        var methods = new JsonObject();
        foreach (var e in entries)
        {
            var node = JsonNode.Parse(e.Report.ToJson())!.AsObject();
            node["parameters"] = JsonNode.Parse(System.Text.Json.JsonSerializer.Serialize(e.Parameters.ToDictionary(p => p.Key, p => FusionParameterValue.Format(p.Value))));
            node["wall_time_seconds"] = e.WallSeconds;
            node["peak_memory_bytes"] = e.PeakMemoryBytes;
            methods[e.Name] = node;
        }
        var root = new JsonObject
        {
            ["suite"] = suite,
            ["study"] = study,
            ["methods"] = methods,
            ["total_seconds"] = totalSeconds,
        };
        if (curves.Count > 0)
            root["scaling_factor_curve"] = new JsonObject(curves.Select(c => new KeyValuePair<string, JsonNode?>(c.Key,
                new JsonArray(c.Value.Select(p => (JsonNode)new JsonObject { ["scaling_factor"] = p.Lambda, ["accuracy"] = p.Accuracy }).ToArray()))));
        if (robustness.Count > 0)
            root["robustness"] = JsonNode.Parse(System.Text.Json.JsonSerializer.Serialize(robustness));
        var fidelity = study == "clean" ? Fidelity(entries, curves, spearman) : new List<FidelityCheck>();
        if (fidelity.Count > 0)
            root["fidelity"] = new JsonArray(fidelity.Select(f => (JsonNode)new JsonObject { ["check"] = f.Check, ["holds"] = f.Holds, ["values"] = f.Values }).ToArray());
        if (spearman is { } s)
            root["spearman_vs_fusionbench_clip_vit_b32"] = new JsonObject { ["rho"] = s.Rho, ["methods"] = new JsonArray(s.Methods.Select(m => (JsonNode)m).ToArray()) };
        File.WriteAllText(Path.Combine(dir, "results.json"), root.ToJsonString(new System.Text.Json.JsonSerializerOptions { WriteIndented = true }));

        // results.md
        var tasks = entries.Count > 0 ? entries[0].Report.Tasks.Keys.ToList() : new List<string>();
        var md = new StringBuilder();
        md.AppendLine(CultureInfo.InvariantCulture, $"# {suite} — {study} study");
        md.AppendLine();
        md.AppendLine("Accuracy (%) per task and the average, as FusionBench prints it." + (unseenTasks.Count > 0 ? $" Unseen tasks (not fused): {string.Join(", ", unseenTasks)}." : ""));
        md.AppendLine();
        md.AppendLine("| method | " + string.Join(" | ", tasks.Select(t => unseenTasks.Contains(t) ? t + "*" : t)) + " | average |");
        md.AppendLine("|---|" + string.Concat(Enumerable.Repeat("---:|", tasks.Count + 1)));
        foreach (var e in entries)
            md.AppendLine($"| {e.Name} | " + string.Join(" | ", tasks.Select(t => P(e.Report.Tasks[t].Accuracy))) + $" | {P(e.Report.Average.Accuracy)} |");
        if (robustness.Count > 0)
        {
            var (corruptions, severities, atSeverity) = RobustnessAxes(robustness);
            md.AppendLine();
            md.AppendLine(string.Create(CultureInfo.InvariantCulture, $"Average accuracy (%) under each corruption (severity {atSeverity}):"));
            md.AppendLine();
            // The clean reference on the grid's own texts, when the suite evaluates the grid on a subset.
            string cleanKey = BenchmarkSuites.CleanCell + "@0";
            bool hasClean = robustness.First().Value.ContainsKey(cleanKey);
            string CleanHead() => hasClean ? "clean (same texts) | " : "";
            string CleanCell(IReadOnlyDictionary<string, double> row) => hasClean ? P(row[cleanKey]) + " | " : "";
            md.AppendLine("| method | " + CleanHead() + string.Join(" | ", corruptions) + " |");
            md.AppendLine("|---|" + string.Concat(Enumerable.Repeat("---:|", corruptions.Count + (hasClean ? 1 : 0))));
            foreach (var (m, row) in robustness) md.AppendLine($"| {m} | " + CleanCell(row) + string.Join(" | ", corruptions.Select(c => P(row[$"{c}@{atSeverity}"]))) + " |");
            if (severities.Count > 1)
            {
                md.AppendLine();
                md.AppendLine("Average accuracy (%) by severity, averaged over the corruptions:");
                md.AppendLine();
                md.AppendLine("| method | " + CleanHead() + string.Join(" | ", severities.Select(v => $"severity {v}")) + " |");
                md.AppendLine("|---|" + string.Concat(Enumerable.Repeat("---:|", severities.Count + (hasClean ? 1 : 0))));
                foreach (var (m, row) in robustness) md.AppendLine($"| {m} | " + CleanCell(row) + string.Join(" | ", severities.Select(v => P(SeverityMean(row, corruptions, v)))) + " |");
            }
        }
        if (spearman is { } sp)
        {
            md.AppendLine();
            md.AppendLine(string.Create(CultureInfo.InvariantCulture, $"Spearman rank correlation with FusionBench's CLIP-ViT-B/32 ranking over {sp.Methods.Count} methods: ρ = {sp.Rho:F3}."));
        }
        if (fidelity.Count > 0)
        {
            md.AppendLine();
            md.AppendLine("Fidelity to FusionBench's findings (average accuracy, %):");
            md.AppendLine();
            md.AppendLine("| check | holds | values |");
            md.AppendLine("|---|---|---|");
            foreach (var f in fidelity) md.AppendLine($"| {f.Check} | {(f.Holds ? "yes" : "**no**")} | {f.Values} |");
        }
        md.AppendLine();
        md.AppendLine(string.Create(CultureInfo.InvariantCulture, $"Total time {totalSeconds:F0} s."));
        File.WriteAllText(Path.Combine(dir, "results.md"), md.ToString());

        // Plots
        var pngs = new List<(string File, string Title)>();
        {
            var plt = new ScottPlot.Plot();
            var values = entries.Select(e => e.Report.Average.Accuracy * 100).ToArray();
            plt.Add.Bars(values);
            plt.Axes.Bottom.SetTicks(Enumerable.Range(0, entries.Count).Select(i => (double)i).ToArray(), entries.Select(e => e.Name).ToArray());
            plt.Axes.Bottom.TickLabelStyle.Rotation = 45;
            plt.Axes.Bottom.TickLabelStyle.Alignment = ScottPlot.Alignment.MiddleLeft;
            plt.Axes.Margins(bottom: 0);
            plt.Axes.Bottom.MinimumSize = 170; // room for the rotated method names
            plt.Title($"{suite}: average accuracy by method ({study})");
            plt.YLabel("average accuracy (%)");
            plt.SavePng(Path.Combine(dir, "accuracy_by_method.png"), 1000, 600);
            pngs.Add(("accuracy_by_method.png", "Average accuracy by method"));
        }
        if (curves.Count > 0)
        {
            var plt = new ScottPlot.Plot();
            foreach (var (method, points) in curves)
            {
                var sc = plt.Add.Scatter(points.Select(p => p.Lambda).ToArray(), points.Select(p => p.Accuracy * 100).ToArray());
                sc.LegendText = method;
            }
            plt.ShowLegend();
            plt.Title($"{suite}: average accuracy against the scaling factor λ");
            plt.XLabel("scaling factor λ");
            plt.YLabel("average accuracy (%)");
            plt.SavePng(Path.Combine(dir, "scaling_factor.png"), 800, 500);
            pngs.Add(("scaling_factor.png", "Scaling-factor curve"));
        }
        if (robustness.Count > 0)
        {
            var (corruptions, severities, atSeverity) = RobustnessAxes(robustness);
            var names = robustness.Keys.ToList();
            var grid = new double[names.Count, corruptions.Count];
            for (int i = 0; i < names.Count; i++)
                for (int j = 0; j < corruptions.Count; j++) grid[i, j] = robustness[names[i]][$"{corruptions[j]}@{atSeverity}"] * 100;
            var plt = new ScottPlot.Plot();
            var hm = plt.Add.Heatmap(grid);
            plt.Add.ColorBar(hm);
            plt.Axes.Bottom.SetTicks(Enumerable.Range(0, corruptions.Count).Select(i => (double)i).ToArray(), corruptions.ToArray());
            plt.Axes.Left.SetTicks(Enumerable.Range(0, names.Count).Select(i => (double)(names.Count - 1 - i)).ToArray(), names.ToArray());
            plt.Axes.Bottom.TickLabelStyle.Rotation = 30;
            plt.Axes.Bottom.MinimumSize = 120;
            plt.Axes.Left.MinimumSize = 170;
            plt.Title(string.Create(CultureInfo.InvariantCulture, $"{suite}: average accuracy (%) under corruption (severity {atSeverity})"));
            plt.SavePng(Path.Combine(dir, "robustness_heatmap.png"), 1000, 700);
            pngs.Add(("robustness_heatmap.png", "Robustness: method × corruption"));
            if (severities.Count > 1)
            {
                var curve = new ScottPlot.Plot();
                foreach (var (m, row) in robustness)
                {
                    var sc = curve.Add.Scatter(severities.Select(v => (double)v).ToArray(), severities.Select(v => SeverityMean(row, corruptions, v) * 100).ToArray());
                    sc.LegendText = m;
                }
                curve.ShowLegend(ScottPlot.Edge.Right);
                curve.Title($"{suite}: average accuracy against corruption severity");
                curve.XLabel("severity (mean over corruptions)");
                curve.YLabel("average accuracy (%)");
                curve.SavePng(Path.Combine(dir, "robustness_severity.png"), 1000, 600);
                pngs.Add(("robustness_severity.png", "Robustness: accuracy against severity"));
            }
        }

        // report.html
        var html = new StringBuilder();
        html.AppendLine("<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>FusionBench.Core benchmark</title>");
        html.AppendLine("<style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:4px 8px;text-align:right}td:first-child,th:first-child{text-align:left}img{max-width:100%;margin:1em 0}</style></head><body>");
        html.AppendLine(CultureInfo.InvariantCulture, $"<h1>{Enc(suite)} — {Enc(study)} study</h1>");
        html.AppendLine("<table><tr><th>method</th>" + string.Concat(tasks.Select(t => $"<th>{Enc(t)}{(unseenTasks.Contains(t) ? "*" : "")}</th>")) + "<th>average</th></tr>");
        foreach (var e in entries)
            html.AppendLine($"<tr><td>{Enc(e.Name)}</td>" + string.Concat(tasks.Select(t => $"<td>{P(e.Report.Tasks[t].Accuracy)}</td>")) + $"<td><b>{P(e.Report.Average.Accuracy)}</b></td></tr>");
        html.AppendLine("</table>");
        if (spearman is { } sp2) html.AppendLine(string.Create(CultureInfo.InvariantCulture, $"<p>Spearman ρ against FusionBench's CLIP-ViT-B/32 ranking ({sp2.Methods.Count} methods): {sp2.Rho:F3}</p>"));
        foreach (var (file, title) in pngs) html.AppendLine($"<h2>{Enc(title)}</h2><img src=\"{file}\" alt=\"{Enc(title)}\">");
        html.AppendLine(string.Create(CultureInfo.InvariantCulture, $"<p>Total time {totalSeconds:F0} s.</p></body></html>"));
        File.WriteAllText(Path.Combine(dir, "report.html"), html.ToString());

        static string P(double a) => (a * 100).ToString("F1", CultureInfo.InvariantCulture);
        static string Enc(string s) => WebUtility.HtmlEncode(s);
    }

    /// <summary>One of FusionBench's findings checked on this run.</summary>
    public sealed record FidelityCheck(string Check, bool Holds, string Values);

    /// <summary>
    /// FusionBench's orderings on this run, each only when its methods ran: pretrained &lt; simple average ≤ task
    /// arithmetic (at its default λ and at the sweep's best λ) ≤ TIES &lt; individual; Fisher and RegMean above simple
    /// average, RegMean above Fisher (the best of the data-based merges); layer-wise AdaMerging ≥ task-wise; WEMoE
    /// within 5 points of individual; Spearman ρ ≥ 0.8 against FusionBench's CLIP-ViT-B/32 averages.
    /// </summary>
    public static List<FidelityCheck> Fidelity(IReadOnlyList<Entry> entries, IReadOnlyDictionary<string, IReadOnlyList<(double Lambda, double Accuracy)>> curves,
        (double Rho, IReadOnlyList<string> Methods)? spearman)
    {
        var acc = entries.ToDictionary(e => e.Name, e => e.Report.Average.Accuracy * 100);
        if (curves.TryGetValue("task_arithmetic", out var ta) && ta.Count > 0)
        {
            var best = ta.MaxBy(p => p.Accuracy);
            acc[string.Create(CultureInfo.InvariantCulture, $"task_arithmetic (best λ = {best.Lambda:0.0})")] = best.Accuracy * 100;
        }
        string bestTa = acc.Keys.FirstOrDefault(k => k.StartsWith("task_arithmetic (best", StringComparison.Ordinal)) ?? "";
        var checks = new List<FidelityCheck>();
        void Order(string a, string op, string b, double margin = 0)
        {
            if (!acc.TryGetValue(a, out double x) || !acc.TryGetValue(b, out double y)) return;
            bool holds = op switch { "<" => x < y, "≤" => x <= y, _ => Math.Abs(x - y) <= margin };
            string check = op == "within" ? string.Create(CultureInfo.InvariantCulture, $"{a} within {margin:0} points of {b}") : $"{a} {op} {b}";
            checks.Add(new FidelityCheck(check, holds, string.Create(CultureInfo.InvariantCulture, $"{x:F1} vs {y:F1}")));
        }
        Order("pretrained", "<", "simple_average");
        Order("simple_average", "≤", "task_arithmetic");
        Order("simple_average", "≤", bestTa);
        Order("task_arithmetic", "≤", "ties_merging");
        Order(bestTa, "≤", "ties_merging");
        Order("ties_merging", "<", "individual");
        Order("simple_average", "<", "fisher_merging");
        Order("simple_average", "<", "regmean");
        Order("fisher_merging", "<", "regmean");
        Order("task_wise_adamerging", "≤", "layer_wise_adamerging");
        Order("weight_ensembling_moe", "within", "individual", 5);
        if (spearman is { } sp)
            checks.Add(new FidelityCheck($"Spearman ρ ≥ 0.8 against FusionBench's CLIP-ViT-B/32 over {sp.Methods.Count} methods", sp.Rho >= 0.8,
                string.Create(CultureInfo.InvariantCulture, $"ρ = {sp.Rho:F3}")));
        return checks;
    }

    /// <summary>The corruptions and severities of the cells (keys <c>corruption@severity</c>) and the severity the per-corruption views show (3 if present).</summary>
    private static (List<string> Corruptions, List<int> Severities, int At) RobustnessAxes(IReadOnlyDictionary<string, IReadOnlyDictionary<string, double>> robustness)
    {
        var keys = robustness.First().Value.Keys.Where(k => !k.StartsWith(BenchmarkSuites.CleanCell + "@", StringComparison.Ordinal)).Select(k => (Corruption: k[..k.LastIndexOf('@')], Severity: int.Parse(k[(k.LastIndexOf('@') + 1)..], CultureInfo.InvariantCulture))).ToList();
        var severities = keys.Select(k => k.Severity).Distinct().Order().ToList();
        int at = severities.Contains(3) ? 3 : severities[0];
        return (keys.Where(k => k.Severity == at).Select(k => k.Corruption).Distinct().ToList(), severities, at);
    }

    private static double SeverityMean(IReadOnlyDictionary<string, double> row, IReadOnlyList<string> corruptions, int severity) =>
        corruptions.Average(c => row[$"{c}@{severity}"]);

    /// <summary>Spearman's ρ between this run's average accuracies and FusionBench's, over the methods both have (≥ 3).</summary>
    public static (double Rho, IReadOnlyList<string> Methods)? Spearman(IReadOnlyList<Entry> entries)
    {
        var common = entries.Where(e => FusionBenchClipVitB32.ContainsKey(e.Name)).ToList();
        if (common.Count < 3) return null;
        var ours = Ranks(common.Select(e => e.Report.Average.Accuracy).ToArray());
        var theirs = Ranks(common.Select(e => FusionBenchClipVitB32[e.Name]).ToArray());
        return (Pearson(ours, theirs), common.Select(e => e.Name).ToList());
    }

    /// <summary>Ranks with ties sharing their average rank.</summary>
    internal static double[] Ranks(double[] values)
    {
        var order = values.Select((v, i) => (v, i)).OrderBy(x => x.v).ToArray();
        var ranks = new double[values.Length];
        for (int i = 0; i < order.Length;)
        {
            int j = i;
            while (j + 1 < order.Length && order[j + 1].v == order[i].v) j++;
            double rank = (i + j) / 2.0 + 1;
            for (int k = i; k <= j; k++) ranks[order[k].i] = rank;
            i = j + 1;
        }
        return ranks;
    }

    private static double Pearson(double[] a, double[] b)
    {
        double ma = a.Average(), mb = b.Average();
        double cov = a.Zip(b, (x, y) => (x - ma) * (y - mb)).Sum();
        double va = Math.Sqrt(a.Sum(x => (x - ma) * (x - ma))), vb = Math.Sqrt(b.Sum(y => (y - mb) * (y - mb)));
        return va == 0 || vb == 0 ? 0 : cov / (va * vb);
    }
}
