using SynthPipeline.Core.Corpus;

namespace SynthPipeline.Core.Tests;

public sealed class TextCleanerTests
{
    [Fact]
    public void FromHtml_Page_KeepsVisibleTextAndBlocksDropsScriptsStylesAndDecodesEntities()
    {
        const string html = """
            <!DOCTYPE html><html><head><title>T</title><style>p { color: red; }</style><script>alert("x")</script></head>
            <body><h1>Harbour</h1><p>Fleet &amp; lifeboat&nbsp;only.</p><!-- hidden --><ul><li>East quay</li><li>Pontoon</li></ul></body></html>
            """;
        Assert.Equal("Harbour\n\nFleet & lifeboat only.\n\nEast quay\n\nPontoon", TextCleaner.FromHtml(html));
    }

    [Fact]
    public void FromMarkdown_Document_KeepsWordsDropsSyntaxAndLinkTargets()
    {
        const string md = "# Tides\n\nMost coasts see **two** tides; see [the tables](https://example.org) or ![chart](c.png).\n\n- first\n- second\n";
        Assert.Equal("Tides\n\nMost coasts see two tides; see the tables or chart.\n\nfirst\nsecond", TextCleaner.FromMarkdown(md));
    }

    [Fact]
    public void Normalize_MixedLineEndsControlsAndSpaces_OneConvention()
    {
        Assert.Equal("a b\nc\n\nd", TextCleaner.Normalize("  a \t b\r\nc\u0007\r\n\r\n\r\n\r\nd  "));
    }
}
