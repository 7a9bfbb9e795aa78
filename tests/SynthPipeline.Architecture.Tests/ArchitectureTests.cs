namespace SynthPipeline.Architecture.Tests;

/// <summary>
/// The house's rules (../shared/design/architecture.md): one direction of dependency between projects and between the
/// feature folders inside them, and features that do not reach into each other.
/// </summary>
public sealed class ArchitectureTests
{
    /// <summary>What each Pipeline feature may use inside Pipeline; anything else there is a wrong-way arrow.</summary>
    private static readonly Dictionary<string, string[]> PipelineRules = new(StringComparer.Ordinal)
    {
        ["SynthPipeline.Pipeline.Output"] = [],
        ["SynthPipeline.Pipeline.Progress"] = [],
        ["SynthPipeline.Pipeline.Graph"] = [],
        ["SynthPipeline.Pipeline.State"] = [],
        ["SynthPipeline.Pipeline.Teacher"] = ["State"],
        ["SynthPipeline.Pipeline.Report"] = ["State", "Output"],
        ["SynthPipeline.Pipeline.SelfInstruct"] = ["Teacher", "State", "Output", "Progress", "Graph", "Report"],
        ["SynthPipeline.Pipeline.Augment"] = ["Teacher", "State", "Output", "Progress", "Graph", "Report"],
        ["SynthPipeline.Pipeline.Eval"] = ["Augment", "Teacher", "State", "Output", "Progress", "Report"],
        ["SynthPipeline.Pipeline.Loop"] = ["Eval", "Augment", "Teacher", "State", "Output", "Report"],
        ["SynthPipeline.Pipeline.Run"] = ["SelfInstruct", "Augment", "Eval", "Loop", "Teacher", "State", "Output", "Progress", "Graph", "Report"],
    };

    [Fact]
    public void Features_HaveNoDependencyCycle()
    {
        var edges = DependencyGraph.Edges;
        var cycles = StronglyConnected(edges).Where(c => c.Count > 1).ToList();
        Assert.True(cycles.Count == 0, "dependency cycles between features:\n" + string.Join("\n", cycles.Select(c =>
            string.Join(" ↔ ", c) + ": " + string.Join("; ", c.SelectMany(a => c.Where(b => edges.GetValueOrDefault(a)?.ContainsKey(b) == true)
                .Select(b => edges[a][b]))))));
    }

    [Fact]
    public void PipelineFeatures_UseOnlyTheFoldersTheirRowAllows()
    {
        var wrong = new List<string>();
        foreach (var (feature, allowed) in PipelineRules)
            foreach (var (target, example) in DependencyGraph.Edges.GetValueOrDefault(feature) ?? new Dictionary<string, string>())
                if (target.StartsWith("SynthPipeline.Pipeline", StringComparison.Ordinal) && !allowed.Contains(target["SynthPipeline.Pipeline.".Length..]))
                    wrong.Add($"{feature} → {target} ({example})");
        Assert.True(wrong.Count == 0, string.Join("\n", wrong));
    }

    [Fact]
    public void PipelineFeatures_AreAllListedInTheRules()
    {
        var features = DependencyGraph.Edges.Keys.Concat(DependencyGraph.Edges.Values.SelectMany(v => v.Keys))
            .Where(f => f.StartsWith("SynthPipeline.Pipeline.", StringComparison.Ordinal)).Distinct().ToList();
        Assert.All(features, f => Assert.True(PipelineRules.ContainsKey(f), $"{f} is a new Pipeline folder: give it a row in the rules"));
    }

    [Fact]
    public void Projects_DependOnlyDownward()
    {
        string[] order = ["SynthPipeline.Core", "SynthPipeline.Llama", "SynthPipeline.Training", "SynthPipeline.Pipeline", "SynthPipeline.Server", "SynthPipeline.Cli"];
        var wrong = DependencyGraph.Edges.SelectMany(e => e.Value.Keys.Select(t => (From: e.Key, To: t, Example: e.Value[t])))
            .Where(e => Array.IndexOf(order, Project(e.To)) > Array.IndexOf(order, Project(e.From)) || Project(e.From) == "SynthPipeline.Training" && Project(e.To) == "SynthPipeline.Pipeline")
            .Select(e => $"{e.From} → {e.To} ({e.Example})").ToList();
        Assert.True(wrong.Count == 0, string.Join("\n", wrong));
    }

    [Fact]
    public void Llama_KeepsOnlyLocalInference_NoPromptsAndNoSemanticKernel()
    {
        Assert.DoesNotContain(DependencyGraph.AssemblyReferences("SynthPipeline.Llama"), r => r.StartsWith("Microsoft.SemanticKernel", StringComparison.Ordinal));
        Assert.DoesNotContain(DependencyGraph.AssemblyReferences("SynthPipeline.Core"), r => r.StartsWith("SynthPipeline", StringComparison.Ordinal));
    }

    [Fact]
    public void Commands_AreThin()
    {
        var commands = Path.Combine(RepositoryRoot(), "src", "SynthPipeline.Cli", "Commands");
        var fat = Directory.GetFiles(commands, "*.cs").Select(f => (File: Path.GetFileName(f), Lines: File.ReadAllLines(f).Length))
            .Where(f => f.Lines > 100).Select(f => $"{f.File}: {f.Lines} lines").ToList();
        Assert.True(fat.Count == 0, "a command parses and calls a run; move the work into the feature: " + string.Join(", ", fat));
    }

    private static string Project(string feature) => string.Join('.', feature.Split('.').Take(2));

    private static string RepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "SynthPipeline.sln"))) return dir.FullName;
        throw new DirectoryNotFoundException("no SynthPipeline.sln above " + AppContext.BaseDirectory);
    }

    /// <summary>Tarjan's strongly connected components.</summary>
    private static List<List<string>> StronglyConnected(IReadOnlyDictionary<string, IReadOnlyDictionary<string, string>> edges)
    {
        var index = new Dictionary<string, int>(StringComparer.Ordinal);
        var low = new Dictionary<string, int>(StringComparer.Ordinal);
        var stack = new Stack<string>();
        var onStack = new HashSet<string>(StringComparer.Ordinal);
        var result = new List<List<string>>();
        var nodes = edges.Keys.Concat(edges.Values.SelectMany(v => v.Keys)).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToList();
        void Visit(string v)
        {
            index[v] = low[v] = index.Count;
            stack.Push(v);
            onStack.Add(v);
            foreach (var w in edges.GetValueOrDefault(v)?.Keys ?? Enumerable.Empty<string>())
            {
                if (!index.ContainsKey(w))
                {
                    Visit(w);
                    low[v] = Math.Min(low[v], low[w]);
                }
                else if (onStack.Contains(w)) low[v] = Math.Min(low[v], index[w]);
            }
            if (low[v] != index[v]) return;
            var component = new List<string>();
            string x;
            do
            {
                x = stack.Pop();
                onStack.Remove(x);
                component.Add(x);
            }
            while (x != v);
            result.Add(component);
        }
        foreach (var n in nodes)
            if (!index.ContainsKey(n)) Visit(n);
        return result;
    }
}
