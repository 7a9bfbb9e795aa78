namespace SynthPipeline.Pipeline.Teacher.Rehearsal;

/// <summary>
/// Task sentences and example text of the lengths chat models write, composed from word lists so that thousands of
/// them stay mostly novel under ROUGE-L, as a real teacher's do; a few fall to the reference's keyword filter.
/// </summary>
internal static class RehearsalText
{
    private static readonly string[] Openings =
    [
        "Write a short story about", "Summarize the main argument of an article on", "Explain to a ten-year-old how people use",
        "List three common mistakes beginners make with", "Give two arguments for and against", "Translate into French a sentence about",
        "Classify the sentiment of a customer review of", "Suggest a catchy name for a startup that builds", "Compose a polite email declining an invitation about",
        "Write a haiku about", "Rewrite in a formal tone a paragraph about", "Create a multiple-choice quiz question about",
        "Describe the difference between two kinds of", "Propose a weekend itinerary that includes", "Estimate how many hours it takes to learn about",
        "Give step-by-step instructions for repairing", "Write a product description for", "Decide whether a tweet about {0} is sarcastic or sincere",
        "Identify the main emotion in a diary entry about", "Recommend a book for a reader curious about", "Draft a tweet announcing",
        "Outline a one-hour lesson plan on", "Compare the costs and benefits of", "Generate a riddle whose answer is",
        "Correct the grammar of a sentence about", "Tell whether a statement about {0} is a fact or an opinion", "Write a dialogue between two neighbours arguing about",
        "Explain the history of", "Invent a recipe that uses", "Write a motivational quote about",
        "Plan a monthly budget for", "Turn a paragraph about {0} into bullet points", "Ask three follow-up questions to someone who mentions",
        "Categorize the following complaint about {0} by urgency", "Write a limerick about", "Give a real-world analogy for",
        "Draw a simple diagram of", "Find an image that shows", "Plot a graph of the popularity of",
    ];

    private static readonly string[] Adjectives =
    [
        "quiet", "abandoned", "solar-powered", "medieval", "underground", "floating", "vintage", "crowded", "tiny", "forgotten",
        "noisy", "electric", "hand-made", "frozen", "coastal", "rural", "digital", "ancient", "experimental", "family-run",
        "overbooked", "reusable", "second-hand", "seasonal", "automated", "volunteer", "nocturnal", "recycled", "portable", "collaborative",
        "open-source", "weekly", "unexpected", "affordable", "fragile", "wooden", "community", "remote", "sleepy", "competitive",
    ];

    private static readonly string[] Nouns =
    [
        "lighthouse", "bakery", "library", "bicycle", "greenhouse", "chess club", "train station", "beehive", "recording studio", "orchard",
        "museum", "podcast", "ferry", "vineyard", "bookshop", "observatory", "marathon", "farmers market", "laundromat", "choir",
        "robot vacuum", "tram line", "bird sanctuary", "tea house", "coding bootcamp", "pottery class", "fire station", "ski resort", "night school", "food truck",
        "weather balloon", "village council", "escape room", "fishing boat", "science fair", "radio station", "dog shelter", "rooftop garden", "repair café", "street festival",
        "sourdough starter", "spreadsheet", "thermostat", "password manager", "cargo bike", "compost heap", "tide pool", "bus timetable", "sewing machine", "telescope",
    ];

    private static readonly string[] Places =
    [
        "", "", "", "in Lisbon", "for retirees", "on a rainy Monday", "in a small mountain town", "for first-year students", "during a power cut",
        "in the year 2080", "for a family of five", "near the harbour", "at a summer camp", "for people who work night shifts", "in a desert city",
        "on a tight budget", "after a storm", "for visually impaired visitors", "in under 100 words", "using only common household items",
    ];

    private static readonly string[] Words =
    [
        "the", "a", "our", "every", "morning", "team", "report", "customer", "price", "delivery", "arrived", "late", "again", "and", "nobody",
        "explained", "why", "garden", "needs", "water", "twice", "week", "during", "summer", "students", "asked", "about", "deadline", "new",
        "policy", "starts", "next", "month", "city", "opened", "park", "near", "river", "weather", "turned", "cold", "suddenly", "children",
        "played", "outside", "until", "dark", "manager", "approved", "budget", "for", "project", "recipe", "calls", "two", "cups", "flour",
        "battery", "lasts", "almost", "day", "train", "was", "cancelled", "because", "of", "snow", "meeting", "moved", "to", "Friday",
        "museum", "offers", "free", "entry", "on", "Sundays", "software", "update", "fixed", "bug", "but", "added", "another", "book",
        "describes", "journey", "across", "mountains", "shop", "sells", "fresh", "bread", "each", "tenants", "complained", "noise", "from",
    ];

    private static readonly string[] Labels = ["positive", "negative", "neutral", "urgent", "not urgent", "fact", "opinion", "sarcastic", "sincere", "spam", "not spam"];

    /// <summary>One task sentence.</summary>
    public static string Task(Random random)
    {
        var opening = Openings[random.Next(Openings.Length)];
        var adjective = Pick(random, Adjectives);
        var topic = $"{("aeiou".Contains(adjective[0], StringComparison.Ordinal) ? "an" : "a")} {adjective} {Pick(random, Nouns)}";
        var place = Pick(random, Places);
        var body = opening.Contains("{0}", StringComparison.Ordinal) ? string.Format(System.Globalization.CultureInfo.InvariantCulture, opening, topic) : $"{opening} {topic}";
        return (place.Length == 0 ? body : $"{body} {place}") + ".";
    }

    /// <summary>A sentence of <paramref name="minWords"/> to <paramref name="maxWords"/> words.</summary>
    public static string Sentence(Random random, int minWords, int maxWords)
    {
        var n = random.Next(minWords, maxWords + 1);
        var words = new string[n];
        for (var i = 0; i < n; i++) words[i] = Pick(random, Words);
        words[0] = char.ToUpperInvariant(words[0][0]) + words[0][1..];
        return string.Join(' ', words) + ".";
    }

    private static readonly string[] ClassificationOpenings = ["Classify", "Decide whether", "Tell whether", "Categorize", "Identify the main emotion"];

    /// <summary>Whether a chat model would call <paramref name="task"/> a classification task: for the script's own tasks, those with finite labels.</summary>
    public static bool IsClassification(string task) => ClassificationOpenings.Any(o => task.StartsWith(o, StringComparison.Ordinal));

    /// <summary>A class label.</summary>
    public static string Label(Random random) => Pick(random, Labels);

    private static string Pick(Random random, string[] from) => from[random.Next(from.Length)];
}
