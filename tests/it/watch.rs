//! `ankideck build --watch`: rebuilds on change, keeps the last package when a save is
//! broken, takes an editor's save as one change, and stops cleanly on Ctrl-C.

#![cfg(unix)]

use crate::common;

use common::files::temp_dir;
use common::path_str;
use common::watching::{http_get, Watching};
use std::fs;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// A folder with a one-note deck in `src/`; returns it and the package's path.
fn deck(name: &str) -> (PathBuf, PathBuf) {
    let dir = temp_dir(&format!("watch-{name}"));
    fs::create_dir_all(dir.join("src")).unwrap();
    fs::write(dir.join("src/a.md"), "## One\n\nfirst\n").unwrap();
    let out = dir.join("deck.apkg");
    (dir, out)
}

fn watch_build(dir: &Path, out: &Path, env: &[(&str, &str)]) -> Watching {
    let src = dir.join("src");
    Watching::start(
        &["build", "--watch", path_str(&src), "-o", path_str(out)],
        env,
    )
}

/// Names in `dir` and `dir/src` that a build makes while it runs and removes after.
fn debris(dir: &Path) -> Vec<String> {
    [dir.to_path_buf(), dir.join("src")]
        .iter()
        .flat_map(|d| fs::read_dir(d).unwrap())
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with(".ankideck"))
        .collect()
}

#[test]
fn rebuilds_on_change_and_keeps_the_package_after_a_broken_save() {
    let (dir, out) = deck("rebuild");
    let mut watching = watch_build(&dir, &out, &[]);
    watching.expect("wrote");
    watching.expect("watching");
    fs::write(
        dir.join("src/a.md"),
        "## One\n\nfirst\n\n## Two\n\nsecond\n",
    )
    .unwrap();
    let lines = watching.expect("wrote");
    assert!(
        lines.iter().any(|l| l == "a.md changed: building again"),
        "{lines:?}"
    );
    assert!(lines.last().unwrap().contains("2 notes"), "{lines:?}");
    watching.expect("watching");
    let good = fs::read(&out).unwrap();
    // A broken save: its problem is shown, and the package stays.
    fs::write(dir.join("src/a.md"), "## One\n\n{{c1::open\n").unwrap();
    let lines = watching.expect("kept the last package");
    let text = lines.join("\n");
    assert!(text.contains("unclosed cloze deletion"), "{text}");
    assert!(text.contains("a.md:3:1"), "{text}");
    assert_eq!(fs::read(&out).unwrap(), good);
    watching.expect("watching");
    // Mended: built again.
    fs::write(dir.join("src/a.md"), "## One\n\nmended\n").unwrap();
    let lines = watching.expect("wrote");
    assert!(lines.last().unwrap().contains("1 note,"), "{lines:?}");
    watching.expect("watching");
    assert_ne!(fs::read(&out).unwrap(), good);
    let (status, rest) = watching.interrupt();
    assert_eq!(status.code(), Some(0), "{rest:?}");
    assert_eq!(rest, ["stopped watching"]);
    assert!(debris(&dir).is_empty(), "{:?}", debris(&dir));
}

/// Vim's save: a test file `4913`, the old file renamed to a backup, the new one
/// written, the backup removed, the swap file written to. One build, no error.
#[test]
fn an_editors_save_is_one_build_without_errors() {
    let (dir, out) = deck("editor");
    let mut watching = watch_build(&dir, &out, &[]);
    watching.expect("watching");
    let src = dir.join("src");
    fs::write(src.join(".a.md.swp"), "swap").unwrap();
    fs::write(src.join("4913"), "").unwrap();
    fs::remove_file(src.join("4913")).unwrap();
    fs::rename(src.join("a.md"), src.join("a.md~")).unwrap();
    fs::write(src.join("a.md"), "## One\n\nsaved\n").unwrap();
    fs::remove_file(src.join("a.md~")).unwrap();
    fs::write(src.join(".a.md.swp"), "swap again").unwrap();
    // An editor's atomic save: a hidden temporary file renamed over the card file.
    std::thread::sleep(Duration::from_millis(600));
    fs::write(src.join(".a.md.tmp1234"), "## One\n\nsaved twice\n").unwrap();
    fs::rename(src.join(".a.md.tmp1234"), src.join("a.md")).unwrap();
    fs::remove_file(src.join(".a.md.swp")).unwrap();
    let mut lines = watching.expect("watching");
    lines.extend(watching.lines_within(Duration::from_secs(2)));
    let builds = lines
        .iter()
        .filter(|l| l.contains("building again"))
        .count();
    assert!((1..=2).contains(&builds), "{lines:?}");
    assert!(lines.iter().all(|l| !l.contains("error")), "{lines:?}");
    assert!(
        lines
            .iter()
            .all(|l| !l.contains('~') && !l.contains("4913")),
        "{lines:?}"
    );
    let (status, _) = watching.interrupt();
    assert_eq!(status.code(), Some(0));
    assert!(debris(&dir).is_empty(), "{:?}", debris(&dir));
}

/// The build's own writes (the lock, the package inside the source folder) start no
/// build: a watch with nothing changing stays quiet.
#[test]
fn its_own_writes_start_no_build() {
    let (dir, _) = deck("own-writes");
    let out = dir.join("src/deck.apkg");
    let mut watching = watch_build(&dir, &out, &[]);
    watching.expect("watching");
    let lines = watching.lines_within(Duration::from_secs(2));
    assert!(lines.is_empty(), "{lines:?}");
    assert!(dir.join("src/ankideck.lock").exists());
    drop(watching);
}

/// Ctrl-C during a build stops it as without `--watch`: exit status 130, the old
/// package kept, nothing left behind.
#[test]
fn ctrl_c_during_a_build_stops_cleanly() {
    let (dir, out) = deck("ctrl-c");
    fs::write(&out, b"the previous package").unwrap();
    let mut watching = watch_build(&dir, &out, &[("ANKIDECK_TEST_PAUSE_AT", "package")]);
    watching.expect("paused at package");
    let (status, rest) = watching.interrupt();
    assert_eq!(status.code(), Some(130), "{rest:?}");
    assert_eq!(rest, ["interrupted; nothing was written"]);
    assert_eq!(fs::read(&out).unwrap(), b"the previous package");
    assert!(debris(&dir).is_empty(), "{:?}", debris(&dir));
}

/// A missing source folder, or an output that cannot be written, is refused at the
/// start as without `--watch`: no save would mend it.
#[test]
fn a_missing_folder_or_a_bad_output_is_refused() {
    let (dir, _) = deck("refused");
    let missing = dir.join("nothing");
    let output = common::run::ankideck(&["build", "--watch", path_str(&missing)]);
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("there is no folder"), "{stderr}");
    let src = dir.join("src");
    let args = ["build", "--watch", path_str(&src), "-o", path_str(&dir)];
    let output = common::run::ankideck(&args);
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("cannot write the package to"), "{stderr}");
}

/// `preview --watch` on a one-note deck: the server and its address.
fn serve_preview(dir: &Path) -> (Watching, String) {
    serve_preview_of(&dir.join("src"))
}

/// `preview --watch` on `src`, writing into `src/../preview`.
fn serve_preview_of(src: &Path) -> (Watching, String) {
    let dir = src.parent().unwrap();
    let out = dir.join("preview");
    let args = [
        "preview",
        "--watch",
        path_str(src),
        "-o",
        path_str(&out),
        "--port",
        "0",
    ];
    let mut watching = Watching::start(&args, &[]);
    let line = watching.expect("serving the preview at").pop().unwrap();
    let url = line.split(' ').find(|w| w.starts_with("http://")).unwrap();
    (watching, url.to_string())
}

/// Asks `url` every 20 ms until its body contains `text`; how long that took.
fn poll_until(url: &str, text: &str) -> Duration {
    let start = std::time::Instant::now();
    loop {
        let (status, body) = http_get(url);
        if status == 200 && body.contains(text) {
            return start.elapsed();
        }
        assert!(
            start.elapsed() < common::watching::PATIENCE,
            "{url}: no `{text}`"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn the_served_preview_follows_the_sources() {
    let (dir, _) = deck("preview");
    let (watching, url) = serve_preview(&dir);
    let page = format!("{url}a.md.html");
    let (status, body) = http_get(&page);
    assert_eq!(status, 200);
    assert!(body.contains("first"), "{body}");
    assert!(
        body.contains("/_ankideck/changes"),
        "no live script: {body}"
    );
    fs::write(
        dir.join("src/a.md"),
        "## One\n\nfirst\n\n## Two\n\nsecond\n",
    )
    .unwrap();
    let took = poll_until(&page, "second");
    eprintln!("the change showed after {took:?}");
    assert!(took < Duration::from_secs(2), "{took:?}");
    // A broken save: the cards stay, the problems are announced.
    fs::write(dir.join("src/a.md"), "## One\n\n{{c1::open\n").unwrap();
    let changes = format!("{url}_ankideck/changes");
    poll_until(&changes, "unclosed cloze deletion");
    let (_, body) = http_get(&page);
    assert!(body.contains("second"), "{body}");
    let (_, state) = http_get(&changes);
    assert!(state.contains("a.md:3:1"), "{state}");
    // Mended: written again, no problems.
    fs::write(dir.join("src/a.md"), "## One\n\nmended\n").unwrap();
    poll_until(&page, "mended");
    poll_until(&changes, "\"problems\":\"\"");
    let (status, rest) = watching.interrupt();
    assert_eq!(status.code(), Some(0), "{rest:?}");
    assert_eq!(rest.last().unwrap(), "stopped watching");
}

/// The pages and anchors are named after the files below SOURCE however SOURCE is
/// written (here not in its canonical form), as without `--watch`.
#[test]
fn the_served_pages_are_named_after_the_files_below_the_source() {
    let (dir, _) = deck("preview-names");
    let (_watching, url) = serve_preview_of(&dir.join("src/../src"));
    let (status, body) = http_get(&format!("{url}a.md.html"));
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("id=\"a.md:1\""), "{body}");
}

#[test]
fn the_server_keeps_to_the_site() {
    let (dir, _) = deck("preview-paths");
    fs::write(dir.join("secret.txt"), "secret").unwrap();
    let (_watching, url) = serve_preview(&dir);
    assert_eq!(http_get(&format!("{url}index.html")).0, 200);
    assert_eq!(http_get(&format!("{url}../secret.txt")).0, 404);
    assert_eq!(http_get(&format!("{url}%2e%2e/secret.txt")).0, 404);
    assert_eq!(http_get(&format!("{url}nothing.html")).0, 404);
}

#[test]
fn a_taken_port_is_refused_with_a_hint() {
    let (dir, _) = deck("preview-port");
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port().to_string();
    let src = dir.join("src");
    let out = dir.join("preview");
    let args = [
        "preview",
        "--watch",
        path_str(&src),
        "-o",
        path_str(&out),
        "--port",
        &port,
    ];
    let output = common::run::ankideck(&args);
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains(&format!("cannot serve the preview on 127.0.0.1:{port}")),
        "{stderr}"
    );
    assert!(stderr.contains("--port"), "{stderr}");
}

/// A source folder reached through a symbolic link, and the `--media-dir` folder, are
/// watched too.
#[test]
fn a_linked_source_and_the_media_dir_are_watched() {
    let dir = temp_dir("watch-media-dir");
    fs::create_dir_all(dir.join("real/src")).unwrap();
    fs::create_dir_all(dir.join("media")).unwrap();
    std::os::unix::fs::symlink(dir.join("real"), dir.join("link")).unwrap();
    fs::write(dir.join("real/src/a.md"), "## One\n\n![x](pic.png)\n").unwrap();
    fs::write(dir.join("media/pic.png"), b"first picture").unwrap();
    let src = dir.join("link/src");
    let out = dir.join("deck.apkg");
    let media = dir.join("media");
    let args = [
        "build",
        "--watch",
        path_str(&src),
        "-o",
        path_str(&out),
        "--media-dir",
    ];
    let mut watching = Watching::start(&[&args[..], &[path_str(&media)]].concat(), &[]);
    watching.expect("watching");
    fs::write(dir.join("media/pic.png"), b"second picture").unwrap();
    let lines = watching.expect("wrote");
    assert!(
        lines
            .iter()
            .any(|l| l.contains("pic.png changed: building again")),
        "{lines:?}"
    );
    watching.expect("watching");
    fs::write(
        dir.join("link/src/a.md"),
        "## One\n\n![x](pic.png)\n\n## Two\n\nb\n",
    )
    .unwrap();
    let lines = watching.expect("wrote");
    assert!(
        lines.iter().any(|l| l == "a.md changed: building again"),
        "{lines:?}"
    );
}
