//! The `ankideck` command: a thin layer over the library.

use ankideck::build::{self, Options};
use ankideck::report::{self, Color, Human};
use ankideck::source::write::WriteError;
use ankideck::unpack::UnpackError;
use ankideck::{Error, Format, Progress};
use clap::builder::{PossibleValue, PossibleValuesParser, TypedValueParser};
use clap::{CommandFactory, Parser, Subcommand, ValueEnum};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// mimalloc instead of the system allocator: building a large deck makes and frees
/// millions of small strings on several threads, and glibc's malloc spent a quarter of
/// the time on them (`docs/PERFORMANCE.md`).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// `mi_option_purge_delay` in mimalloc 3's `mimalloc.h`.
const PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;

/// mimalloc 3 gives freed memory back to the system after a second. A build frees large
/// buffers (rendering scratch, lock windows, SQLite's cache) while the package grows, so
/// it peaked about 17 MB higher than with mimalloc 2's 10 ms, which this restores. Only
/// while the option has mimalloc 3's default: not when `MIMALLOC_PURGE_DELAY` is set, nor
/// if a later mimalloc numbers its options differently.
fn shorten_purge_delay() {
    use libmimalloc_sys::{mi_option_get, mi_option_set};
    // SAFETY: reading and setting an option takes no pointers.
    unsafe {
        if mi_option_get(PURGE_DELAY) == 1000 {
            mi_option_set(PURGE_DELAY, 10);
        }
    }
}

const EXIT_STATUS: &str = "Exit status: 0 success, 1 problems in the card sources (nothing is written), 2 usage or I/O errors, 130 interrupted.";

/// Turn plain-text flashcards into Anki packages (.apkg).
#[derive(Parser)]
#[command(
    version,
    disable_help_subcommand = true,
    after_help = format!("Examples:\n  ankideck init                     # a starter deck in ./cards\n  ankideck build                    # ./cards → ./cards.apkg\n  ankideck build notes -o my.apkg   # ./notes → ./my.apkg\n  ankideck check                    # report problems, write nothing\n  ankideck preview                  # every card as Anki shows it, in ./cards-preview\n  ankideck ids                      # pin every note's identity with an `id:` line\n  ankideck help format              # the card format reference\n\n{EXIT_STATUS}")
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
    /// When to colour messages; `auto`: on a terminal, unless NO_COLOR is set.
    #[arg(long, global = true, default_value_t = Color::Auto, value_parser = choice(&Color::ALL, Color::name, |_| None))]
    color: Color,
}

#[derive(Subcommand)]
enum Command {
    /// Build a folder of Markdown cards into an .apkg package.
    ///
    /// Every `## ` heading in a .md file below SOURCE becomes a note. The package is
    /// written to a temporary file and renamed into place, so an error never leaves a
    /// half-written package behind. SOURCE/ankideck.lock records what was built, so that
    /// the next build raises the modification time of exactly the notes you changed and
    /// Anki updates them on import; commit it with your cards. `ankideck help format` describes the card format.
    #[command(after_help = format!("Example:\n  ankideck build cards -o nlp.apkg\n\nThe same sources and lock give the same bytes. SOURCE_DATE_EPOCH, if set, is used as the build time.\n\n{EXIT_STATUS}"))]
    Build {
        /// Folder of card sources.
        #[arg(default_value = "cards")]
        source: PathBuf,
        /// Package to write: NAME.apkg in an existing folder [default: <name of SOURCE>.apkg
        /// in the current folder].
        #[arg(short, long)]
        output: Option<PathBuf>,
        /// Fail instead of updating ankideck.lock (for CI: the lock must be committed).
        #[arg(long)]
        locked: bool,
        /// Treat warnings as errors.
        #[arg(long)]
        deny_warnings: bool,
        /// Package format: `legacy` imports everywhere; `latest` is smaller but needs
        /// Anki 2.1.50+ (AnkiDroid 2.16+), as Anki 23.10+ exports by default.
        #[arg(long, default_value_t = Format::default(), value_parser = choice(&Format::ALL, Format::name, format_help))]
        format: Format,
        /// Also look up media references the source does not hold in this folder, such
        /// as Anki's `collection.media` (for text files exported from Anki).
        #[arg(long, value_name = "DIR")]
        media_dir: Option<PathBuf>,
        /// Build, then build again whenever a source changes, until Ctrl-C. A build
        /// that fails keeps the last package.
        #[arg(long)]
        watch: bool,
    },
    /// Report every problem in the sources, without writing anything.
    #[command(after_help = format!("Example:\n  ankideck check cards --format json\n\n{EXIT_STATUS}"))]
    Check {
        /// Folder of card sources.
        #[arg(default_value = "cards")]
        source: PathBuf,
        /// `human` (like rustc) or `json` (one JSON object a line, for editors and CI).
        #[arg(long, value_enum, default_value_t = OutputFormat::Human)]
        format: OutputFormat,
        /// Exit with 1 on warnings too.
        #[arg(long)]
        deny_warnings: bool,
        /// Also look up media references the source does not hold in this folder, such
        /// as Anki's `collection.media` (for text files exported from Anki).
        #[arg(long, value_name = "DIR")]
        media_dir: Option<PathBuf>,
    },
    /// Write a static site showing every card, front and back, as Anki renders it.
    ///
    /// DIR/index.html lists the decks with their counts, the source files and the
    /// problems `check` reports; each source file gets a page with every note and its
    /// cards (open `index.html#FILE:LINE` to jump to the note written at that line), with
    /// switches for night mode and a phone-width view. Notes with errors are left out and
    /// their problems listed. DIR/cards.json holds each card's HTML as Anki's
    /// `card.question()` and `card.answer()` return it.
    #[command(after_help = format!("Example:\n  ankideck preview cards && xdg-open cards-preview/index.html\n\n{EXIT_STATUS}"))]
    Preview {
        /// Folder of card sources.
        #[arg(default_value = "cards")]
        source: PathBuf,
        /// Folder to write the site to, new, empty or an earlier preview [default:
        /// <name of SOURCE>-preview in the current folder].
        #[arg(short, long, value_name = "DIR")]
        output: Option<PathBuf>,
        /// Serve the preview on 127.0.0.1 and write it again whenever a source changes;
        /// open pages reload by themselves. A save with errors shows them over the last
        /// good cards. Until Ctrl-C.
        #[arg(long)]
        watch: bool,
        /// The port to serve on with `--watch`; 0 for any free one.
        #[arg(long, default_value_t = 8417, requires = "watch")]
        port: u16,
    },
    /// Write each note's identity into its source as an `id:` line.
    ///
    /// Without `id:`, a note's identity comes from its first field, so editing the
    /// question makes Anki see a new note. After `ankideck ids`, edits keep the identity.
    /// Only `id:` lines are added; nothing else in the files changes.
    #[command(after_help = format!("Example:\n  ankideck ids cards && git diff cards\n\n{EXIT_STATUS}"))]
    Ids {
        /// Folder of card sources.
        #[arg(default_value = "cards")]
        source: PathBuf,
    },
    /// Turn an Anki package (.apkg or .colpkg) into card sources that build it again.
    ///
    /// Writes one card file per deck, custom note types into _notetypes/, deck
    /// descriptions and options into _deck.toml, media into _media/, and an
    /// ankideck.lock with each note's id and modification time, so that importing the
    /// built package over the original changes nothing. DIR must be new or empty
    /// (--force replaces it); the sources are written beside it and renamed into place.
    /// Review history stays in your Anki collection.
    #[command(after_help = format!("Example:
  ankideck unpack French.apkg -o french && ankideck build french

{EXIT_STATUS}"))]
    Unpack {
        /// The package: .apkg or .colpkg, from any Anki version.
        package: PathBuf,
        /// Folder to write the sources to [default: the package's name without its
        /// extension, in the current folder].
        #[arg(short, long, value_name = "DIR")]
        output: Option<PathBuf>,
        /// Replace DIR even if it holds files.
        #[arg(long)]
        force: bool,
    },
    /// Write a small starter deck, whose comments and cards teach the format.
    ///
    /// DIR must be new or empty. Build it with `ankideck build DIR` and import the package.
    #[command(after_help = format!("Example:\n  ankideck init && ankideck build\n\n{EXIT_STATUS}"))]
    Init {
        /// Folder to write the deck to.
        #[arg(default_value = "cards")]
        dir: PathBuf,
    },
    /// Print the card format reference (FORMAT.md): the same as `ankideck help format`.
    Format,
    /// Print help for a command, or with `format` the card format reference.
    Help {
        /// A command, or `format`.
        topic: Option<String>,
    },
    /// Print a shell completion script to stdout.
    #[command(
        after_help = "Examples:\n  ankideck completions bash > ~/.local/share/bash-completion/completions/ankideck\n  ankideck completions zsh > ~/.zfunc/_ankideck     # with fpath+=(~/.zfunc) in ~/.zshrc\n  ankideck completions fish > ~/.config/fish/completions/ankideck.fish"
    )]
    Completions {
        /// The shell to complete for.
        shell: clap_complete::Shell,
    },
    /// Print the man page (roff) to stdout: ankideck(1), or with COMMAND ankideck-COMMAND(1).
    #[command(
        after_help = "Example:\n  ankideck man > ~/.local/share/man/man1/ankideck.1\n  ankideck man build > ~/.local/share/man/man1/ankideck-build.1"
    )]
    Man {
        /// The command whose page to print.
        command: Option<String>,
    },
}

/// How `check` prints diagnostics.
#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum OutputFormat {
    Human,
    Json,
}

/// Parses one of the library's choices by the names the library gives them.
fn choice<T: Copy + Send + Sync + 'static>(
    all: &'static [T],
    name: fn(T) -> &'static str,
    help: fn(T) -> Option<&'static str>,
) -> impl TypedValueParser<Value = T> {
    let values = all
        .iter()
        .map(move |&v| PossibleValue::new(name(v)).help(help(v)));
    PossibleValuesParser::new(values).map(move |s| {
        let found = all.iter().find(|&&v| name(v) == s);
        *found.expect("clap accepts only the possible values")
    })
}

fn format_help(format: Format) -> Option<&'static str> {
    Some(match format {
        Format::Legacy1 => "Legacy 1 (`collection.anki2`): every Anki, AnkiDroid and AnkiMobile",
        Format::Latest => "Latest (zstd, `collection.anki21b`): Anki 2.1.50+, AnkiDroid 2.16+",
    })
}

fn main() -> ExitCode {
    shorten_purge_delay();
    let cli = Cli::parse();
    // First Ctrl-C (or SIGTERM, SIGHUP): stop cleanly (temporary files are removed); a
    // second one exits at once.
    let _ = ctrlc::set_handler(|| {
        if ankideck::cancel::is_cancelled() {
            std::process::exit(130);
        }
        ankideck::cancel::cancel();
    });
    let human = Human::new(cli.color.enabled(std::io::stderr().is_terminal()));
    // Only `build` and `ids` say that nothing was written when they fail.
    let writes = matches!(cli.command, Command::Build { .. } | Command::Ids { .. });
    let (result, json) = match cli.command {
        Command::Build {
            source,
            output,
            locked,
            deny_warnings,
            format,
            media_dir,
            watch,
        } => {
            let dir = media_dir.clone();
            let options = move |mut o: Options| {
                (o.locked, o.deny_warnings, o.format) = (locked, deny_warnings, format);
                o.media_dir = dir.clone();
                o
            };
            let output = output.unwrap_or_else(|| default_output(&source));
            let result = match watch {
                true => build_watching(&source, &output, media_dir.as_deref(), options, human),
                false => build(&source, &output, options, human),
            };
            (result, false)
        }
        Command::Check {
            source,
            format,
            deny_warnings,
            media_dir,
        } => {
            let json = format == OutputFormat::Json;
            let options = move |mut o: Options| {
                (o.deny_warnings, o.media_dir) = (deny_warnings, media_dir);
                o
            };
            (check(&source, options, json, human), json)
        }
        Command::Ids { source } => (ids(&source), false),
        Command::Preview {
            source,
            output,
            watch,
            port,
        } => {
            let output = output.unwrap_or_else(|| default_preview(&source));
            let result = match watch {
                true => preview_watching(&source, &output, port, human),
                false => preview(&source, &output, human),
            };
            (result, false)
        }
        Command::Init { dir } => (init(&dir), false),
        Command::Unpack {
            package,
            output,
            force,
        } => return unpack(&package, output, force),
        Command::Format => (print(FORMAT_REFERENCE.as_bytes()), false),
        Command::Help { topic } => (help(topic.as_deref()), false),
        Command::Completions { shell } => {
            let mut out = Vec::new();
            clap_complete::generate(shell, &mut Cli::command(), "ankideck", &mut out);
            (print(&out), false)
        }
        Command::Man { command } => (man(command.as_deref()), false),
    };
    exit_status(result, json, writes, human)
}

/// `ankideck build`: warnings and removed notes on stderr, the summary on stdout.
fn build(
    source: &Path,
    output: &Path,
    options: impl FnOnce(Options) -> Options,
    human: Human,
) -> Result<(), Error> {
    let options = options(Options::from_env()?);
    let bar = ProgressReport::start();
    let outcome = build::build_with(source, output, options, &mut |p| bar.update(p));
    bar.finish();
    let outcome = outcome?;
    eprint!("{}", human.diagnostics_folded(&outcome.warnings));
    eprint!("{}", human.removed(&outcome));
    println!("{}", report::built(output, &outcome));
    Ok(())
}

/// `ankideck build --watch`: builds, then builds again after each change of the sources
/// until Ctrl-C, which while waiting is the normal end (exit status 0). A failed build
/// prints why and leaves the last package as it was.
fn build_watching(
    source: &Path,
    output: &Path,
    media_dir: Option<&Path>,
    options: impl Fn(Options) -> Options,
    human: Human,
) -> Result<(), Error> {
    if !source.is_dir() {
        // The build says what is wrong with the folder.
        return build(source, output, options, human);
    }
    let mut roots = vec![source];
    roots.extend(media_dir);
    // Started first, so that a change during the first build is seen.
    let watcher = ankideck::watch::Watcher::new(&roots, &[output])?;
    let mut first = true;
    loop {
        match build(source, output, &options, human) {
            Err(Error::Cancelled) => return Err(Error::Cancelled),
            // Not the sources (a refused output path): no save will mend it.
            Err(failure) if first && !matches!(failure, Error::Input(_)) => return Err(failure),
            Err(failure) => {
                print_failure(failure, false, true, human);
                if output.exists() {
                    eprintln!("kept the last package, {}", output.display());
                }
            }
            Ok(()) => {}
        }
        first = false;
        eprintln!("watching {} for changes (Ctrl-C to stop)", source.display());
        match watcher.wait() {
            Err(Error::Cancelled) => {
                eprintln!("stopped watching");
                return Ok(());
            }
            Err(other) => return Err(other),
            Ok(changed) => eprintln!("{}: building again", describe_change(source, &changed)),
        }
    }
}

/// What changed, for people: the first file, relative to the source, and how many more.
fn describe_change(source: &Path, changed: &[PathBuf]) -> String {
    let source = source
        .canonicalize()
        .unwrap_or_else(|_| source.to_path_buf());
    let Some(first) = changed.first() else {
        return "the sources changed".into();
    };
    let name = first.strip_prefix(&source).unwrap_or(first).display();
    match changed.len() {
        1 => format!("{name} changed"),
        n => format!("{name} and {} changed", report::count(n - 1, "other file")),
    }
}

/// `ankideck check`: warnings for people on stderr, or for tools as JSON on stdout.
fn check(
    source: &Path,
    options: impl FnOnce(Options) -> Options,
    json: bool,
    human: Human,
) -> Result<(), Error> {
    let options = options(Options::from_env()?);
    let warnings = build::check(source, options)?;
    if json {
        warnings
            .iter()
            .for_each(|w| println!("{}", report::json(w)));
    } else {
        eprint!("{}", human.diagnostics(&warnings));
        println!("{}", report::checked(warnings.len()));
    }
    Ok(())
}

/// `ankideck preview`: the problems on stderr (the site lists them too), where the
/// site is on stdout. Problems in the sources do not stop it.
fn preview(source: &Path, output: &Path, human: Human) -> Result<(), Error> {
    let (sources, diagnostics) = ankideck::preview::read(source)?;
    eprint!("{}", human.diagnostics(&diagnostics));
    let options = ankideck::preview::Options::new(source, diagnostics);
    let site = ankideck::preview::write_site(&sources, output, &options)?;
    println!(
        "{}",
        report::previewed(&site.index, site.notes, site.cards, site.problems)
    );
    Ok(())
}

/// `ankideck preview --watch`: serves the preview and writes it again on each change,
/// until Ctrl-C, the normal end (exit status 0).
fn preview_watching(source: &Path, output: &Path, port: u16, human: Human) -> Result<(), Error> {
    use ankideck::preview::serve::{self, Event};
    let mut tell = |event: Event| match event {
        Event::Serving(url) => println!("serving the preview at {url} (Ctrl-C to stop)"),
        Event::Changed(changed) => {
            eprintln!("{}: previewing again", describe_change(source, changed))
        }
        Event::Written(site, diagnostics) => {
            eprint!("{}", human.diagnostics(diagnostics));
            println!(
                "{}",
                report::previewed(&site.index, site.notes, site.cards, site.problems)
            );
        }
        Event::Kept(diagnostics) => {
            eprint!("{}", human.diagnostics(diagnostics));
            eprintln!("the preview keeps the last cards without errors and shows these problems");
        }
        Event::Failed(error) => {
            eprint!("{}", human.failure(error));
            eprintln!("the preview keeps the last cards");
        }
        _ => {}
    };
    match serve::watch(source, output, port, &mut tell) {
        Err(Error::Cancelled) => {
            eprintln!("stopped watching");
            Ok(())
        }
        other => other,
    }
}

/// `<name of SOURCE>-preview` in the current folder, beside the package `build` writes.
fn default_preview(source: &Path) -> PathBuf {
    let package = default_output(source);
    let stem = package.file_stem().unwrap_or_default().to_string_lossy();
    PathBuf::from(format!("{stem}-preview"))
}

/// `ankideck ids`: one line per file changed.
fn ids(source: &Path) -> Result<(), Error> {
    let changed = ankideck::build::write_ids(source)?;
    for (file, added) in &changed {
        println!(
            "{}: added {}",
            file.display(),
            report::count(*added, "id line")
        );
    }
    if changed.is_empty() {
        println!("every note already has an id");
    }
    Ok(())
}

/// `ankideck unpack`: what was left out on stderr, the summary on stdout. Exit status 2
/// when nothing was written (1 when the written sources would not read back as the
/// package's notes: a bug), 130 when interrupted.
fn unpack(package: &Path, output: Option<PathBuf>, force: bool) -> ExitCode {
    let dir = output.unwrap_or_else(|| {
        let stem = package.file_stem().unwrap_or(package.as_os_str());
        PathBuf::from(stem)
    });
    match ankideck::unpack::unpack(package, &dir, force) {
        Ok(summary) => {
            for warning in &summary.warnings {
                eprintln!("warning: {warning}");
            }
            println!("{}", report::unpacked(package, &dir, &summary));
            ExitCode::SUCCESS
        }
        Err(UnpackError::Other(Error::Cancelled) | UnpackError::Write(WriteError::Cancelled)) => {
            eprintln!("interrupted; nothing was written");
            ExitCode::from(130)
        }
        Err(e) => {
            eprintln!("error: {e}; nothing was written");
            match e {
                UnpackError::Write(WriteError::Mismatch(_) | WriteError::Unwritable { .. }) => {
                    ExitCode::from(1)
                }
                _ => ExitCode::from(2),
            }
        }
    }
}

/// `ankideck init`: the files written, and what to do next.
fn init(dir: &Path) -> Result<(), Error> {
    let files = ankideck::init::init(dir)?;
    println!("wrote a starter deck to {}:", dir.display());
    for file in &files {
        println!("  {}", file.display());
    }
    let build = match dir == Path::new("cards") {
        true => "ankideck build".to_string(),
        false => format!("ankideck build {}", dir.display()),
    };
    println!("build it with `{build}`; `ankideck help format` describes the format");
    Ok(())
}

/// The card format reference, `docs/FORMAT.md`, for `ankideck help format`.
const FORMAT_REFERENCE: &str = include_str!("../docs/FORMAT.md");

/// `ankideck help [TOPIC]`: the format reference, a command's help or the overview.
fn help(topic: Option<&str>) -> Result<(), Error> {
    let mut cli = Cli::command();
    // Built, so that each command's usage line starts with `ankideck`.
    cli.build();
    let text = match topic {
        Some("format") => return print(FORMAT_REFERENCE.as_bytes()),
        None => cli.render_long_help(),
        Some(name) => match cli.find_subcommand_mut(name) {
            Some(command) => command.render_long_help(),
            None => {
                let message = format!(
                    "no help on `{name}`: name a command ({}) or `format`",
                    command_names(&cli).join(", ")
                );
                cli.error(clap::error::ErrorKind::InvalidSubcommand, message)
                    .exit()
            }
        },
    };
    print(text.to_string().as_bytes())
}

/// `ankideck man [COMMAND]`: the man page of the tool or of one of its commands.
fn man(command: Option<&str>) -> Result<(), Error> {
    let mut cli = Cli::command();
    cli.build();
    let page = match command {
        None => cli,
        Some(name) => match cli.find_subcommand(name) {
            Some(sub) => sub.clone().version(env!("CARGO_PKG_VERSION")),
            None => {
                let message = format!(
                    "no man page for `{name}`: name a command ({})",
                    command_names(&cli).join(", ")
                );
                cli.error(clap::error::ErrorKind::InvalidSubcommand, message)
                    .exit()
            }
        },
    };
    let mut out = Vec::new();
    clap_mangen::Man::new(page)
        .render(&mut out)
        .map_err(|e| Error::io("man page", e))?;
    print(&out)
}

fn command_names(cli: &clap::Command) -> Vec<&str> {
    cli.get_subcommands().map(|c| c.get_name()).collect()
}

/// Writes `bytes` to stdout; a closed pipe (`| head`) is not an error.
fn print(bytes: &[u8]) -> Result<(), Error> {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    match out.write_all(bytes).and_then(|()| out.flush()) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => Err(Error::io("stdout", e)),
        _ => Ok(()),
    }
}

/// Prints why a command failed and says so in the exit status.
fn exit_status(result: Result<(), Error>, json: bool, writes: bool, human: Human) -> ExitCode {
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => print_failure(failure, json, writes, human),
    }
}

/// Prints why a command failed; the exit status that says so.
fn print_failure(failure: Error, json: bool, writes: bool, human: Human) -> ExitCode {
    match failure {
        Error::Input(diagnostics) => {
            if json {
                diagnostics
                    .iter()
                    .for_each(|d| println!("{}", report::json(d)));
            } else {
                eprint!("{}", human.diagnostics(&diagnostics));
                eprint!("{}", human.refused(&diagnostics, writes));
            }
            ExitCode::from(1)
        }
        Error::Cancelled => {
            match writes {
                true => eprintln!("interrupted; nothing was written"),
                false => eprintln!("interrupted"),
            }
            ExitCode::from(130)
        }
        other => {
            eprint!("{}", human.failure(&other));
            ExitCode::from(2)
        }
    }
}

/// A progress bar on stderr, drawn only when stderr is a terminal and the build has
/// taken longer than a moment.
struct ProgressReport {
    bar: ProgressBar,
    /// Set once the build is over; guards showing the bar late.
    done: Arc<Mutex<bool>>,
    phase: Mutex<Option<std::mem::Discriminant<Progress>>>,
}

impl ProgressReport {
    const DELAY: Duration = Duration::from_millis(400);

    fn start() -> ProgressReport {
        let bar = ProgressBar::hidden();
        let done = Arc::new(Mutex::new(false));
        if std::io::stderr().is_terminal() {
            let (bar, done) = (bar.clone(), done.clone());
            std::thread::spawn(move || {
                std::thread::sleep(Self::DELAY);
                let done = done.lock().unwrap_or_else(|e| e.into_inner());
                if !*done {
                    bar.set_draw_target(ProgressDrawTarget::stderr());
                    bar.enable_steady_tick(Duration::from_millis(120));
                }
            });
        }
        ProgressReport {
            bar,
            done,
            phase: Mutex::new(None),
        }
    }

    fn update(&self, progress: Progress) {
        // The style changes only when the phase does; the message comes first, so the
        // new style never shows the old phase's message.
        let phase = std::mem::discriminant(&progress);
        let mut current = self.phase.lock().unwrap_or_else(|e| e.into_inner());
        let new_phase = *current != Some(phase);
        *current = Some(phase);
        let spinner = |message: &'static str| {
            self.bar.set_message(message);
            self.bar
                .set_style(ProgressStyle::with_template("{spinner} {msg} {elapsed}").unwrap());
        };
        let bar = |template: &str, position: u64, length: u64| {
            if new_phase {
                self.bar.set_style(
                    ProgressStyle::with_template(template)
                        .unwrap()
                        .progress_chars("=> "),
                );
            }
            self.bar.set_length(length);
            self.bar.set_position(position);
        };
        match progress {
            Progress::Waiting => self.bar.suspend(|| {
                eprintln!("waiting for another build of this folder to finish…");
            }),
            Progress::Reading => spinner("reading cards"),
            Progress::Notes { done, total } => bar(
                "notes [{bar:20}] {pos}/{len} {elapsed}",
                done as u64,
                total as u64,
            ),
            Progress::Collection => spinner("compressing the collection"),
            Progress::Media {
                done,
                total,
                bytes,
                total_bytes,
            } => {
                self.bar.set_message(format!("{done}/{total}"));
                bar(
                    "media [{bar:20}] {bytes}/{total_bytes}, {msg} files {elapsed}",
                    bytes,
                    total_bytes,
                );
            }
            _ => spinner("working"),
        }
    }

    fn finish(self) {
        *self.done.lock().unwrap_or_else(|e| e.into_inner()) = true;
        self.bar.finish_and_clear();
    }
}

fn default_output(source: &Path) -> PathBuf {
    let name = source
        .canonicalize()
        .ok()
        .and_then(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
        .unwrap_or_else(|| "deck".into());
    PathBuf::from(format!("{name}.apkg"))
}

#[cfg(test)]
mod tests {
    /// The option set is the purge delay: it has mimalloc 3's default of 1000 ms until
    /// set (a mimalloc that numbers its options differently fails here), then 10 ms.
    #[test]
    fn the_purge_delay_is_shortened() {
        use libmimalloc_sys::mi_option_get;
        // SAFETY: reading an option takes no pointers.
        assert_eq!(unsafe { mi_option_get(super::PURGE_DELAY) }, 1000);
        super::shorten_purge_delay();
        assert_eq!(unsafe { mi_option_get(super::PURGE_DELAY) }, 10);
    }
}
