using SynthPipeline.Core.Novelty;
using SynthPipeline.Pipeline.State;
using SynthPipeline.Core.SelfInstruct;
using SynthPipeline.Core.Text;

namespace SynthPipeline.Pipeline.SelfInstruct;

/// <summary>
/// Turns one teacher answer into accepted instructions and rejections: split the numbered list (dropping a last item
/// cut by the token limit), normalise, filter, then the ROUGE-L novelty check against the seeds and every instruction
/// accepted before, in order, so later items of the same answer see earlier ones. Holds the run's novelty state;
/// single-threaded by design (the pipeline feeds it answers in prompt order).
/// </summary>
public sealed partial class InstructionStage
{
    private readonly InstructionFilter _filter;
    private readonly NoveltyIndex _novelty = new();
    private readonly List<string> _known = [];
    private readonly double _threshold;
    private readonly int _target;
    private readonly int _seedCount;
    private readonly Lock _machineLock = new();
    private readonly List<string> _machine = [];

    public InstructionStage(IEnumerable<string> seeds, InstructionFilter filter, double threshold, int target)
    {
        ArgumentNullException.ThrowIfNull(seeds);
        _filter = filter ?? throw new ArgumentNullException(nameof(filter));
        _threshold = threshold;
        _target = target;
        foreach (var s in seeds) Remember(InstructionFilter.Normalize(s));
        _seedCount = _known.Count;
    }


    /// <summary>Accepted machine-generated instructions so far.</summary>
    public int AcceptedCount
    {
        get
        {
            lock (_machineLock) return _machine.Count;
        }
    }

    /// <summary>The first <paramref name="count"/> accepted instructions (a stable prefix: the list only grows).</summary>
    public IReadOnlyList<string> MachinePrefix(int count)
    {
        lock (_machineLock) return _machine.Take(count).ToList();
    }

    /// <summary>Re-adds an instruction accepted before a resume, in its original order.</summary>
    public void Restore(string instruction)
    {
        Remember(instruction);
        lock (_machineLock) _machine.Add(instruction);
    }

    public (IReadOnlyList<StoredInstruction> Accepted, IReadOnlyList<StoredRejection> Rejected) Process(long promptIndex, string? response, bool truncated, int openNumber = 9)
    {
        var source = $"prompt {promptIndex}";
        var accepted = new List<StoredInstruction>();
        var rejected = new List<StoredRejection>();
        var parsed = InstructionListParser.Parse(response ?? "", openNumber, truncated);
        foreach (var d in parsed.Dropped)
            rejected.Add(new StoredRejection { Stage = "parse", Reason = d.Reason, Text = TextPreview.Shorten(d.Text), Source = source });
        var items = parsed.Items;
        if (items.Count == 0 && parsed.Dropped.Count == 0)
        {
            var shown = (response ?? "").Length > 300 ? response![..300] + "…" : response ?? "";
            rejected.Add(new StoredRejection { Stage = "parse", Reason = "unparseable", Detail = truncated ? "cut by the token limit" : "no numbered item", Text = shown, Source = source });
            return (accepted, rejected);
        }
        if (items.Count == 0)
        {
            return (accepted, rejected);
        }
        foreach (var item in items)
        {
            if (AcceptedCount >= _target) break;
            var text = InstructionFilter.Normalize(item);
            if (_filter.Check(text) is { } why)
            {
                rejected.Add(new StoredRejection { Stage = "filter", Reason = why.Reason, Detail = why.Detail, Text = text, Source = source });
                continue;
            }
            var match = _novelty.FindMostSimilar(text);
            var similar = match.Index >= 0 ? _known[match.Index] : null;
            if (NoveltyIndex.IsTooSimilar(match, _threshold))
            {
                rejected.Add(new StoredRejection
                {
                    Stage = "novelty", Reason = "rouge_l_too_similar", Detail = $"ROUGE-L {match.Score:F3} > {_threshold}", Text = text, MostSimilar = similar,
                    Score = match.Score, Source = source,
                });
                continue;
            }
            var profile = _novelty.Profile(text);
            accepted.Add(new StoredInstruction(AcceptedCount, promptIndex, text, similar, match.Score, null, InstructionStatus.Pending)
            {
                Similar = [.. profile.MostSimilar.Select(m => (_known[m.Index], m.Score))],
                AverageSimilarity = profile.Average,
            });
            Restore(text);
        }
        return (accepted, rejected);
    }

    /// <summary>Seeds first, then accepted instructions, in the order the novelty index holds them.</summary>
    private void Remember(string text)
    {
        _novelty.Add(text);
        _known.Add(text);
    }

    public int SeedCount => _seedCount;
}
