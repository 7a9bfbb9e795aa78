namespace SynthPipeline.Core.Augment;

/// <summary>How accepted examples are combined into multi-turn conversations.</summary>
/// <param name="Shares">Share of each kind among the turns of mixed conversations (normalised; a kind may be 0).</param>
/// <param name="MinTurns">Fewest question/answer exchanges in a mixed conversation.</param>
/// <param name="MaxTurns">Most exchanges in a mixed conversation.</param>
/// <param name="SingleTurnLeftovers">Examples the proportions leave over become one-exchange conversations instead of being dropped.</param>
public sealed record MixSettings(IReadOnlyDictionary<ExampleKind, double> Shares, int MinTurns, int MaxTurns, bool SingleTurnLeftovers);

/// <summary>An example placed in a conversation: its kind and its index in that kind's pool.</summary>
public readonly record struct MixedTurn(ExampleKind Kind, int Index);

/// <summary>The conversations to write: mixed ones, then single-exchange ones; every example appears at most once.</summary>
public sealed record MixPlan(IReadOnlyList<IReadOnlyList<MixedTurn>> Conversations, IReadOnlyList<MixedTurn> Singles, IReadOnlyList<MixedTurn> Unused);

/// <summary>
/// Plans multi-turn conversations that mix legitimate, negative and refusal exchanges in the configured proportions:
/// as many turns as the scarcest kind allows at its share, the kinds' counts in exact proportion (rounded down),
/// shuffled with the run's seed and cut into conversations of the configured lengths.
/// </summary>
public static class ConversationMixer
{
    public static MixPlan Plan(IReadOnlyDictionary<ExampleKind, int> available, MixSettings settings, int seed)
    {
        ArgumentNullException.ThrowIfNull(available);
        ArgumentNullException.ThrowIfNull(settings);
        ArgumentOutOfRangeException.ThrowIfLessThan(settings.MinTurns, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(settings.MaxTurns, settings.MinTurns);
        var kinds = Enum.GetValues<ExampleKind>();
        var total = kinds.Sum(k => Math.Max(0, settings.Shares.GetValueOrDefault(k)));
        if (total <= 0) throw new ArgumentException("at least one kind needs a share above 0", nameof(settings));
        var shares = kinds.ToDictionary(k => k, k => Math.Max(0, settings.Shares.GetValueOrDefault(k)) / total);
        var pool = kinds.ToDictionary(k => k, k => Math.Max(0, available.GetValueOrDefault(k)));

        var turns = kinds.Where(k => shares[k] > 0).Min(k => Math.Floor(pool[k] / shares[k] + 1e-9));
        var counts = kinds.ToDictionary(k => k, k => (int)Math.Min(pool[k], Math.Floor(turns * shares[k] + 1e-9)));

        var random = new Random(seed);
        var order = kinds.ToDictionary(k => k, k => Shuffled(pool[k], random));
        var sequence = kinds.SelectMany(k => order[k].Take(counts[k]).Select(i => new MixedTurn(k, i))).ToArray();
        random.Shuffle(sequence);

        var conversations = new List<IReadOnlyList<MixedTurn>>();
        var at = 0;
        while (sequence.Length - at >= settings.MinTurns)
        {
            var remaining = sequence.Length - at;
            int length;
            if (remaining <= settings.MaxTurns && (remaining < 2 * settings.MinTurns || random.Next(2) == 0)) length = remaining;
            else
            {
                // Leave at least MinTurns for what follows, so the last conversation is not too short.
                var high = Math.Min(settings.MaxTurns, remaining - settings.MinTurns);
                length = high >= settings.MinTurns ? random.Next(settings.MinTurns, high + 1) : Math.Min(settings.MaxTurns, remaining);
            }
            conversations.Add(sequence[at..(at + length)]);
            at += length;
        }
        var used = sequence.Take(at).ToHashSet();
        var rest = kinds.SelectMany(k => order[k].Select(i => new MixedTurn(k, i))).Where(t => !used.Contains(t)).ToList();
        return settings.SingleTurnLeftovers ? new MixPlan(conversations, rest, []) : new MixPlan(conversations, [], rest);
    }

    private static int[] Shuffled(int n, Random random)
    {
        var a = Enumerable.Range(0, n).ToArray();
        random.Shuffle(a);
        return a;
    }
}
