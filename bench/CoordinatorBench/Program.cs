using System.Diagnostics;
using System.Globalization;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.Logging.Abstractions;
using SynthPipeline.Core.Options;
using SynthPipeline.Pipeline.SelfInstruct;
using SynthPipeline.Pipeline.Teacher;

// The coordinator's own cost: `synth generate`'s whole graph (or the router alone) against a teacher that answers at
// once from another process, so requests/s and CPU per request are the coordinator's, not a model's.
//   CoordinatorBench graph  --count N --in-flight W --max-concurrent M [--hold-ms H] [--seconds S] [--chunk-chars C]
//   CoordinatorBench client --in-flight W --seconds S [--chunk-chars C]
//   CoordinatorBench serve  --hold-ms H --chunk-chars C          (the teacher; started by the other two)
var mode = args.Length > 0 ? args[0] : "graph";
int Arg(string name, int fallback)
{
    var i = Array.IndexOf(args, name);
    return i >= 0 ? int.Parse(args[i + 1], CultureInfo.InvariantCulture) : fallback;
}

var holdMs = Arg("--hold-ms", 0);
var chunkChars = Arg("--chunk-chars", 4);
if (mode == "serve")
{
    await InstantTeacher.RunAsync(holdMs, chunkChars);
    return 0;
}

using var teacherProcess = Process.Start(new ProcessStartInfo(Environment.ProcessPath!, [typeof(InstantTeacher).Assembly.Location, "serve", "--hold-ms", holdMs.ToString(CultureInfo.InvariantCulture), "--chunk-chars", chunkChars.ToString(CultureInfo.InvariantCulture)])
{
    RedirectStandardOutput = true,
})!;
string? line;
do line = await teacherProcess.StandardOutput.ReadLineAsync();
while (line is not null && !line.StartsWith("listening ", StringComparison.Ordinal));
var url = line!["listening ".Length..];
var inFlight = Arg("--in-flight", 256);
var maxConcurrent = Arg("--max-concurrent", 4096);
var seconds = Arg("--seconds", 60);
var teacherOptions = new TeacherOptions { Endpoints = [new TeacherEndpointOptions { Url = url, Model = "instant", MaxConcurrent = maxConcurrent }] }.Validate();
var me = Process.GetCurrentProcess();

try
{
    using var remote = RemoteTeacher.Create(teacherOptions, NullLoggerFactory.Instance, TimeProvider.System);
    var cpu0 = me.TotalProcessorTime;
    var teacherCpu0 = CpuSeconds(teacherProcess.Id);
    var clock = Stopwatch.StartNew();
    long requests = 0, peak = 0;
    using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(seconds));
    if (mode == "client")
    {
        var prompt = "Come up with a series of tasks:\n1. " + string.Join("\n", Enumerable.Range(2, 8).Select(i => $"{i}. Describe the harbour number {i} in three sentences.")) + "\n9.";
        var options = new ChatOptions { MaxOutputTokens = 512, Temperature = 0.7f };
        await Task.WhenAll(Enumerable.Range(0, inFlight).Select(async _ =>
        {
            while (!stop.IsCancellationRequested)
            {
                try
                {
                    await remote.Router.GetResponseAsync([new ChatMessage(ChatRole.User, prompt)], options, stop.Token);
                    Interlocked.Increment(ref requests);
                }
                catch (OperationCanceledException)
                {
                }
            }
        }));
        peak = inFlight;
    }
    else
    {
        var folder = Directory.CreateTempSubdirectory("coordinator-bench-").FullName;
        using var run = SelfInstructRun.Open(new GenerateOptions { Count = Arg("--count", 3000), Output = folder, RunName = "bench", Seed = 1, RequestsInFlight = inFlight },
            teacherOptions, null, TimeProvider.System);
        var work = run.RunAsync(remote.Teacher, NullLoggerFactory.Instance, stop.Token);
        while (!work.IsCompleted)
        {
            peak = Math.Max(peak, run.Progress.Teacher.InFlight);
            await Task.WhenAny(work, Task.Delay(20));
        }
        var outcome = await work;
        using var store = SynthPipeline.Pipeline.State.RunStore.Open(run.Folder.Path);
        requests = store.RequestTotals().Requests;
        Console.WriteLine($"run: {outcome.Summary}{(outcome.Cancelled ? " (stopped at the time limit)" : "")}");
        // What the exports and report.html cost on their own: the same export again from the finished store.
        var exportClock = Stopwatch.StartNew();
        await SelfInstructExporter.ExportAsync(store, run.Folder.Path, new RunDescription("bench", "seeds", run.Seeds.Count, "instant", false, new Dictionary<string, string>()) { ShuffleSeed = 1 });
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"export_and_report_s={exportClock.Elapsed.TotalSeconds:F2} instructions={store.Instructions().Count} examples={SelfInstructExporter.Examples(store).Count} report_kib={new FileInfo(Path.Combine(run.Folder.Path, "report.html")).Length / 1024}"));
        Directory.Delete(folder, recursive: true);
    }
    clock.Stop();
    var cpu = (me.TotalProcessorTime - cpu0).TotalSeconds;
    var teacherCpu = CpuSeconds(teacherProcess.Id) - teacherCpu0;
    using var http = new HttpClient();
    var serverPeak = await http.GetStringAsync(new Uri(url.Replace("/v1", "/peak", StringComparison.Ordinal)));
    Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
        $"mode={mode} in_flight_window={inFlight} max_concurrent={maxConcurrent} hold_ms={holdMs} chunk_chars={chunkChars} cores={Environment.ProcessorCount}"));
    Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
        $"requests={requests} wall_s={clock.Elapsed.TotalSeconds:F1} requests_per_s={requests / clock.Elapsed.TotalSeconds:F0} coordinator_cpu_s={cpu:F1} coordinator_cpu_ms_per_request={1000 * cpu / Math.Max(1, requests):F2} teacher_cpu_s={teacherCpu:F1} peak_in_flight_coordinator={peak} peak_held_at_teacher={serverPeak}"));
}
finally
{
    teacherProcess.Kill();
}
return 0;

static double CpuSeconds(int pid)
{
    var fields = File.ReadAllText($"/proc/{pid}/stat").Split(')')[1].Split(' ', StringSplitOptions.RemoveEmptyEntries);
    return (long.Parse(fields[11], CultureInfo.InvariantCulture) + long.Parse(fields[12], CultureInfo.InvariantCulture)) / 100.0;
}
