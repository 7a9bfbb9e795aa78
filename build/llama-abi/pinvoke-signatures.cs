// Prints every P/Invoke of an assembly into "llama" as "Return name(Param, ...)", one a line (a .NET file-based app):
//   dotnet run build/llama-abi/pinvoke-signatures.cs -- PATH/TO/LLamaSharp.dll
#:property PublishAot=false
using System.Reflection;
using System.Runtime.InteropServices;

var assembly = Assembly.LoadFrom(args[0]);
Type[] types;
try { types = assembly.GetTypes(); }
catch (ReflectionTypeLoadException e) { types = [.. e.Types.OfType<Type>()]; }
static string Name(Type t) => t.IsByRef ? "ref " + t.GetElementType()!.Name : t.Name;
var lines = new SortedSet<string>(StringComparer.Ordinal);
foreach (var type in types)
foreach (var method in type.GetMethods(BindingFlags.Static | BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.DeclaredOnly))
{
    if (method.GetCustomAttribute<DllImportAttribute>() is not { Value: "llama" } import) continue;
    lines.Add($"{Name(method.ReturnType)} {import.EntryPoint ?? method.Name}({string.Join(", ", method.GetParameters().Select(p => Name(p.ParameterType)))})");
}
foreach (var line in lines) Console.WriteLine(line);
