return await Runner.Ctl.Cli.RunAsync(args, Console.Out, Console.Error).ConfigureAwait(false);
