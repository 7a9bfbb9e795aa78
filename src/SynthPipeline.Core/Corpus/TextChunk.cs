namespace SynthPipeline.Core.Corpus;

/// <summary>
/// A piece of a cleaned document: <see cref="Text"/> is exactly <c>document[Start..End]</c>, and <see cref="Tokens"/>
/// is its length in the teacher's tokens.
/// </summary>
public sealed record TextChunk(int Index, int Start, int End, string Text, int Tokens);
