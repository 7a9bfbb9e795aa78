using Mono.Cecil;
using Mono.Cecil.Cil;

namespace SynthPipeline.Architecture.Tests;

/// <summary>
/// Which feature folder of the product uses which, read from the compiled assemblies: every type reference in
/// signatures, attributes and method bodies counts. A feature is a namespace cut to three parts
/// (<c>SynthPipeline.Pipeline.Augment</c>, <c>SynthPipeline.Llama.Engine</c>; <c>SynthPipeline.Llama</c> for its root).
/// </summary>
internal static class DependencyGraph
{
    public static readonly string[] Assemblies = ["SynthPipeline.Core", "SynthPipeline.Llama", "SynthPipeline.Training", "SynthPipeline.Pipeline", "SynthPipeline.Server", "synth"];

    private static readonly Lazy<IReadOnlyDictionary<string, IReadOnlyDictionary<string, string>>> Built = new(Build);

    /// <summary>Feature → the features it uses, each with one example of a use ("Type uses Type").</summary>
    public static IReadOnlyDictionary<string, IReadOnlyDictionary<string, string>> Edges => Built.Value;

    /// <summary>The assemblies each product assembly references by name.</summary>
    public static IReadOnlyList<string> AssemblyReferences(string assembly)
    {
        using var module = ModuleDefinition.ReadModule(Path.Combine(AppContext.BaseDirectory, assembly + ".dll"));
        return module.AssemblyReferences.Select(r => r.Name).ToList();
    }

    public static string Feature(string ns)
    {
        var parts = ns.Split('.');
        return string.Join('.', parts.Take(3));
    }

    private static IReadOnlyDictionary<string, IReadOnlyDictionary<string, string>> Build()
    {
        var edges = new Dictionary<string, Dictionary<string, string>>(StringComparer.Ordinal);
        foreach (var name in Assemblies)
        {
            using var module = ModuleDefinition.ReadModule(Path.Combine(AppContext.BaseDirectory, name + ".dll"));
            foreach (var type in module.GetTypes())
            {
                var from = Namespace(type);
                if (!from.StartsWith("SynthPipeline", StringComparison.Ordinal)) continue;
                var source = Feature(from);
                foreach (var used in Uses(type))
                {
                    var to = Namespace(used);
                    if (!to.StartsWith("SynthPipeline", StringComparison.Ordinal)) continue;
                    var target = Feature(to);
                    if (target == source) continue;
                    if (!edges.TryGetValue(source, out var targets)) edges[source] = targets = new(StringComparer.Ordinal);
                    targets.TryAdd(target, $"{type.FullName} uses {used.FullName}");
                }
            }
        }
        return edges.ToDictionary(e => e.Key, e => (IReadOnlyDictionary<string, string>)e.Value, StringComparer.Ordinal);
    }

    /// <summary>A nested type (closures, async state machines) belongs to its outermost declaring type's namespace.</summary>
    private static string Namespace(TypeReference type)
    {
        while (type.DeclaringType is not null) type = type.DeclaringType;
        return type.Namespace;
    }

    private static IEnumerable<TypeReference> Uses(TypeDefinition type)
    {
        var found = new List<TypeReference>();
        void Add(TypeReference? t)
        {
            switch (t)
            {
                case null:
                    return;
                case GenericInstanceType g:
                    Add(g.ElementType);
                    foreach (var a in g.GenericArguments) Add(a);
                    return;
                case TypeSpecification s:
                    Add(s.ElementType);
                    return;
                case GenericParameter:
                    return;
                default:
                    found.Add(t);
                    return;
            }
        }
        void AddMember(MemberReference member)
        {
            Add(member.DeclaringType);
            switch (member)
            {
                case MethodReference m:
                    Add(m.ReturnType);
                    foreach (var p in m.Parameters) Add(p.ParameterType);
                    if (m is GenericInstanceMethod gm) foreach (var a in gm.GenericArguments) Add(a);
                    break;
                case FieldReference f:
                    Add(f.FieldType);
                    break;
            }
        }
        void AddAttributes(ICustomAttributeProvider provider)
        {
            foreach (var a in provider.CustomAttributes) Add(a.AttributeType);
        }

        Add(type.BaseType);
        AddAttributes(type);
        foreach (var i in type.Interfaces) Add(i.InterfaceType);
        foreach (var f in type.Fields)
        {
            Add(f.FieldType);
            AddAttributes(f);
        }
        foreach (var p in type.Properties)
        {
            Add(p.PropertyType);
            AddAttributes(p);
        }
        foreach (var m in type.Methods)
        {
            AddMember(m);
            AddAttributes(m);
            if (!m.HasBody) continue;
            foreach (var v in m.Body.Variables) Add(v.VariableType);
            foreach (var instruction in m.Body.Instructions)
            {
                switch (instruction.Operand)
                {
                    case TypeReference t:
                        Add(t);
                        break;
                    case MemberReference member:
                        AddMember(member);
                        break;
                }
            }
        }
        return found;
    }
}
