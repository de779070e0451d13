from medialake.jobs.cli import console

console()
