using System.Diagnostics;
using System.Globalization;
using SynthPipeline.Core.Novelty;

// ROUGE-L novelty filter: the fast index against the naive all-pairs reference port, on N instructions fed in
// order (each is checked against every instruction accepted before it, and accepted when its max F <= 0.7).
// Usage: dotnet run -c Release --project bench/RougeBench -- N [naive-sample]
//   The naive time is measured on every candidate when N <= 2000, else on the last `naive-sample` candidates
//   (default 100) and scaled by the number of pairs; decisions of the sampled candidates are checked to match.
var n = args.Length > 0 ? int.Parse(args[0], CultureInfo.InvariantCulture) : 10_000;
var sample = args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 100;
var instructions = Synthetic(n, seed: 1);

var clock = Stopwatch.StartNew();
var index = new NoveltyIndex();
var accepted = new List<string>();
var decisions = new List<(bool Ok, int Accepted)>();
long pairs = 0;
foreach (var c in instructions)
{
    pairs += accepted.Count;
    var m = index.FindMostSimilar(c);
    var ok = !NoveltyIndex.IsTooSimilar(m);
    decisions.Add((ok, accepted.Count));
    if (ok)
    {
        index.Add(c);
        accepted.Add(c);
    }
}
var fast = clock.Elapsed;
Console.WriteLine($"N={n}: fast index {fast.TotalSeconds:F2} s, {accepted.Count} accepted, {pairs:N0} pairs, {fast.TotalNanoseconds / pairs:F1} ns/pair, vocabulary {index.Vocabulary}");

var from = n <= 2_000 ? 0 : n - sample;
clock.Restart();
long naivePairs = 0;
for (var i = from; i < n; i++)
{
    var before = decisions[i].Accepted;
    var best = 0.0;
    for (var j = 0; j < before; j++) best = Math.Max(best, RougeL.ScoreNaive(instructions[i], accepted[j]));
    naivePairs += before;
    if (best <= 0.7 != decisions[i].Ok) throw new InvalidOperationException($"decision differs for candidate {i}");
}
var naive = clock.Elapsed;
var naiveTotal = naive.TotalSeconds * pairs / Math.Max(1, naivePairs);
Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
    $"N={n}: naive {(from == 0 ? "measured" : $"measured on {n - from} candidates ({naivePairs:N0} pairs), scaled")}: {naiveTotal:F1} s ({naive.TotalNanoseconds / naivePairs:F0} ns/pair); speed-up {naiveTotal / fast.TotalSeconds:F0}x; decisions identical"));

// Instructions that look like Self-Instruct output: a verb, Zipf-distributed words from a 6,000-word vocabulary,
// 4 to 40 words, with some near-paraphrases of earlier ones so the 0.7 threshold rejects a few percent.
static List<string> Synthetic(int count, int seed)
{
    var rng = new Random(seed);
    string[] verbs = ["Write", "Explain", "Give", "List", "Describe", "Classify", "Summarize", "Suggest", "Rewrite", "Find", "Generate", "Compare", "Translate", "Identify"];
    var vocabulary = Enumerable.Range(0, 6000).Select(i => Word(i)).ToArray();
    var weights = Enumerable.Range(1, vocabulary.Length).Select(r => 1.0 / r).ToArray();
    var cumulative = new double[weights.Length];
    var sum = 0.0;
    for (var i = 0; i < weights.Length; i++) cumulative[i] = sum += weights[i];
    string Draw()
    {
        var x = rng.NextDouble() * sum;
        var i = Array.BinarySearch(cumulative, x);
        return vocabulary[i < 0 ? ~i : i];
    }
    var list = new List<string>(count);
    for (var k = 0; k < count; k++)
    {
        if (k > 10 && rng.Next(20) == 0)
        {
            var words = list[rng.Next(list.Count)].Split(' ').ToList();
            words[rng.Next(1, words.Count)] = Draw();
            list.Add(string.Join(' ', words));
            continue;
        }
        var length = rng.Next(4, 41);
        list.Add(verbs[rng.Next(verbs.Length)] + " " + string.Join(' ', Enumerable.Range(0, length - 1).Select(_ => Draw())) + ".");
    }
    return list;
}

static string Word(int i)
{
    string[] syllables = ["ka", "lo", "mi", "ren", "to", "sa", "vel", "un", "dor", "pi", "ser", "an", "ti", "mo", "ra", "ex"];
    var s = "";
    do
    {
        s += syllables[i % syllables.Length];
        i /= syllables.Length;
    } while (i > 0);
    return s;
}
