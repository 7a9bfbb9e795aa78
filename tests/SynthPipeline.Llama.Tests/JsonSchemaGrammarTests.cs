using System.Text.Json;
using Microsoft.Extensions.AI;
using SynthPipeline.Llama.Teacher;

namespace SynthPipeline.Llama.Tests;

[Collection(DemoModelCollection.Name)]
public sealed class JsonSchemaGrammarTests(DemoModelFixture fixture) : IDisposable
{
    private readonly LlamaChatClient _client = fixture.CreateClient();

    private static readonly JsonElement TaskSchema = JsonDocument.Parse("""
        {
          "type": "object",
          "properties": {
            "instruction": { "type": "string", "minLength": 1, "maxLength": 30 },
            "is_classification": { "type": "boolean" },
            "count": { "type": "integer" },
            "label": { "enum": ["positive", "negative", "say \"neutral\"\\n"] },
            "tags": { "type": "array", "items": { "type": "string", "maxLength": 8 }, "maxItems": 3 },
            "score": { "type": ["number", "null"] },
            "source": { "type": "object", "properties": { "file": { "type": "string", "maxLength": 12 } } }
          },
          "required": ["instruction"]
        }
        """).RootElement;

    [Fact]
    public async Task GetResponseAsync_JsonSchemaFormat_OutputValidatesAgainstTheSchema()
    {
        for (var seed = 0; seed < 5; seed++)
        {
            var options = new ChatOptions { ResponseFormat = ChatResponseFormat.ForJsonSchema(TaskSchema), Temperature = 1, Seed = seed, MaxOutputTokens = 1500 };
            var response = await _client.GetResponseAsync([new ChatMessage(ChatRole.User, "Describe a task.")], options);
            using var doc = JsonDocument.Parse(response.Text);
            var root = doc.RootElement;
            Assert.Equal(["instruction", "is_classification", "count", "label", "tags", "score", "source"], root.EnumerateObject().Select(p => p.Name));
            // JSON Schema lengths count Unicode characters, not UTF-16 units.
            Assert.InRange(Chars(root.GetProperty("instruction")), 1, 30);
            Assert.Contains(root.GetProperty("is_classification").ValueKind, new[] { JsonValueKind.True, JsonValueKind.False });
            root.GetProperty("count").GetInt64();
            Assert.Contains(root.GetProperty("label").GetString(), new[] { "positive", "negative", "say \"neutral\"\\n" });
            var tags = root.GetProperty("tags").EnumerateArray().ToList();
            Assert.InRange(tags.Count, 0, 3);
            Assert.All(tags, t => Assert.InRange(Chars(t), 0, 8));
            Assert.Contains(root.GetProperty("score").ValueKind, new[] { JsonValueKind.Number, JsonValueKind.Null });
            Assert.InRange(Chars(root.GetProperty("source").GetProperty("file")), 0, 12);
        }
    }

    [Fact]
    public async Task GetResponseAsync_SingleConstWithQuotesAndBackslash_IsEmittedExactly()
    {
        var schema = JsonDocument.Parse("""{ "const": { "a": "q\"b\\c" } }""").RootElement;
        var options = new ChatOptions { ResponseFormat = ChatResponseFormat.ForJsonSchema(schema), Seed = 1, MaxOutputTokens = 64 };
        var response = await _client.GetResponseAsync([new ChatMessage(ChatRole.User, "x")], options);
        Assert.Equal("""{"a":"q\"b\\c"}""", response.Text);
    }

    [Theory]
    [InlineData("""{ "type": "string", "pattern": "^[a-z]+$" }""", "'pattern' at #")]
    [InlineData("""{ "type": "object", "properties": { "x": { "$ref": "#/defs/x" } } }""", "'$ref' at #/properties/x")]
    [InlineData("""{ "type": "array" }""", "needs 'items'")]
    [InlineData("""{ "type": "decimal" }""", "type 'decimal'")]
    public void FromSchema_UnsupportedSchema_NamesTheKeywordAndWhere(string schema, string expected)
    {
        var e = Assert.Throws<UnsupportedSchemaException>(() => JsonSchemaGrammar.FromSchema(JsonDocument.Parse(schema).RootElement));
        Assert.Contains(expected, e.Message, StringComparison.Ordinal);
    }

    // Characters as JSON Schema counts them. A random-weight model can emit byte sequences that are not valid UTF-8:
    // the grammar decodes such a run as one character while .NET turns each byte into U+FFFD, so those are skipped.
    private static int Chars(JsonElement s) => s.GetString()!.EnumerateRunes().Count(r => r.Value != 0xFFFD);

    public void Dispose() => _client.Dispose();
}
