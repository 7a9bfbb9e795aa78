namespace SynthPipeline.Llama.Teacher;

/// <summary>GBNF grammars for constrained output.</summary>
public static class JsonGrammars
{
    /// <summary>
    /// A flat JSON object with at most 6 members whose keys and string values are at most 64 characters. Lengths are
    /// bounded so that a constrained generation always closes within about 900 tokens, whatever the model.
    /// </summary>
    public const string BoundedObject = """
        root   ::= "{" ws ( member ( "," ws member ){0,5} )? ws "}"
        member ::= string ":" ws value
        value  ::= string | number | "true" | "false" | "null"
        string ::= "\"" char{0,64} "\""
        char   ::= [^"\\\x00-\x1F] | "\\" ["\\/bfnrt]
        number ::= "-"? ( "0" | [1-9] [0-9]{0,8} ) ( "." [0-9]{1,6} )?
        ws     ::= " "?
        """;

    /// <summary>"yes" or "no", for judge and classifier prompts.</summary>
    public const string YesNo = """root ::= "yes" | "no" """;
}
