//! `ankideck preview --watch`: the preview served on 127.0.0.1, written anew when the
//! sources change, and the open pages reloaded.
//!
//! Each HTML page served gets a small script (`live.js`) that asks
//! `/_ankideck/changes?since=REVISION`; the server answers when the revision moves on
//! (or after [`LONG_POLL`], to keep the connection fresh), saying which site is current
//! and which problems to show. A save with errors leaves the last good site as it was
//! and shows its problems over it, as `build --watch` keeps the last package.

use super::{Options, SiteSummary};
use crate::error::{Diagnostic, Error, Result, Severity};
use crate::watch::Watcher;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Condvar, Mutex, PoisonError, RwLock};
use std::time::Duration;

/// The script added to each page.
const LIVE_JS: &str = include_str!("live.js");
/// The address the script asks.
const CHANGES: &str = "/_ankideck/changes";
/// How long a request for changes waits before it is answered with no change.
const LONG_POLL: Duration = Duration::from_secs(20);

/// What a watching preview tells its user, as it happens.
#[derive(Debug)]
#[non_exhaustive]
pub enum Event<'a> {
    /// The site is served at this address.
    Serving(&'a str),
    /// These sources changed (none listed: the system lost count); the site is made
    /// again.
    Changed(&'a [PathBuf]),
    /// The site was written, listing these problems (warnings; errors where there was
    /// no good site to keep).
    Written(&'a SiteSummary, &'a [Diagnostic]),
    /// The sources have errors: the last good site stays, with these shown over it.
    Kept(&'a [Diagnostic]),
    /// The sources could not be read, or the site not written: the last site stays.
    Failed(&'a Error),
}

/// Writes the preview of `source` into `out_dir`, serves it on `127.0.0.1:port` (`0`: a
/// free port) and writes it again whenever the sources change, until
/// [`crate::cancel::cancel`], when it returns [`Error::Cancelled`]. Fails only where
/// `preview` would fail at the start, or when the port cannot be had.
pub fn watch(source: &Path, out_dir: &Path, port: u16, tell: &mut dyn FnMut(Event)) -> Result<()> {
    let root = crate::source::source_folder(source)?;
    // Started first, so that a change while the first site is written is seen.
    let watcher = Watcher::new(&[&root], &[out_dir])?;
    let shared = Arc::new(Shared {
        dir: out_dir.to_path_buf(),
        state: Mutex::new(State::default()),
        moved_on: Condvar::new(),
        files: RwLock::new(()),
    });
    let mut last = regenerate(source, &shared, Site::None, tell)?;
    let address = serve(&shared, port)?;
    tell(Event::Serving(&format!("http://{address}/")));
    loop {
        let changed = watcher.wait()?;
        tell(Event::Changed(&changed));
        match regenerate(source, &shared, last, tell) {
            Ok(site) => last = site,
            Err(Error::Cancelled) => return Err(Error::Cancelled),
            Err(failure) => {
                shared.show(problem_text(&failure.to_string()));
                tell(Event::Failed(&failure));
            }
        }
    }
}

/// What the site in the output folder shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Site {
    None,
    /// Sources with errors: what could be read.
    Partial,
    Good,
}

/// Reads the sources and writes the site, unless they have errors and the site shows
/// a good state, which then stays with the problems shown over it.
fn regenerate(
    source: &Path,
    shared: &Shared,
    last: Site,
    tell: &mut dyn FnMut(Event),
) -> Result<Site> {
    let (sources, diagnostics) = super::read(source)?;
    let broken = diagnostics
        .iter()
        .any(|d| d.problem.severity() == Severity::Error);
    let problems = match broken {
        true => diagnostics_text(&diagnostics, last == Site::Good),
        false => String::new(),
    };
    if broken && last == Site::Good {
        shared.show(problems);
        tell(Event::Kept(&diagnostics));
        return Ok(Site::Good);
    }
    // The notes' files are paths below `source` as given, not its canonical form:
    // pages and anchors are named after them as without `--watch`.
    let options = Options::new(source, diagnostics.clone());
    let summary = {
        let _writing = shared.files.write().unwrap_or_else(PoisonError::into_inner);
        super::write_site(&sources, &shared.dir, &options)?
    };
    shared.new_site(problems);
    tell(Event::Written(&summary, &diagnostics));
    Ok(if broken { Site::Partial } else { Site::Good })
}

/// The problems as `check` prints them, under a line that says what the page shows.
fn diagnostics_text(diagnostics: &[Diagnostic], kept: bool) -> String {
    let errors = diagnostics
        .iter()
        .filter(|d| d.problem.severity() == Severity::Error)
        .count();
    let shown = match kept {
        true => "the cards shown are from the last save without errors",
        false => "the notes with errors are left out",
    };
    let head = format!(
        "{} in the card sources; {shown}",
        crate::report::count(errors, "error")
    );
    let body = crate::report::Human::new(false).diagnostics(diagnostics);
    format!("{head}\n\n{body}")
}

fn problem_text(message: &str) -> String {
    format!("the preview could not be made again; the cards shown are from before\n\n{message}")
}

/// What the server answers the pages' requests for changes with.
#[derive(Debug, Default)]
struct State {
    /// Counts the sites written.
    site: u64,
    /// Counts every change the pages are told of: a site, problems shown or cleared.
    revision: u64,
    /// The problems to show over the cards; empty for none.
    problems: String,
}

/// What the watching thread and the server's threads share.
struct Shared {
    dir: PathBuf,
    state: Mutex<State>,
    moved_on: Condvar,
    /// Held to write the site, and to read one of its files: no half-written page.
    files: RwLock<()>,
}

impl Shared {
    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn new_site(&self, problems: String) {
        let mut state = self.state();
        state.site += 1;
        state.revision += 1;
        state.problems = problems;
        self.moved_on.notify_all();
    }

    fn show(&self, problems: String) {
        let mut state = self.state();
        state.revision += 1;
        state.problems = problems;
        self.moved_on.notify_all();
    }

    /// The state as JSON once its revision is not `since`, or after [`LONG_POLL`].
    fn changes_after(&self, since: Option<u64>) -> String {
        let state = self.state();
        let (state, _) = self
            .moved_on
            .wait_timeout_while(state, LONG_POLL, |s| Some(s.revision) == since)
            .unwrap_or_else(PoisonError::into_inner);
        serde_json::json!({
            "site": state.site,
            "revision": state.revision,
            "problems": state.problems,
        })
        .to_string()
    }
}

/// Starts serving the site on `127.0.0.1:port`, a thread for each request; returns
/// the address.
fn serve(shared: &Arc<Shared>, port: u16) -> Result<std::net::SocketAddr> {
    let address = std::net::SocketAddr::from(([127, 0, 0, 1], port));
    let server = tiny_http::Server::http(address).map_err(|e| Error::Serve {
        address: address.to_string(),
        source: std::io::Error::other(e),
    })?;
    let address = server.server_addr().to_ip().unwrap_or(address);
    let shared = Arc::clone(shared);
    std::thread::spawn(move || {
        for request in server.incoming_requests() {
            let shared = Arc::clone(&shared);
            std::thread::spawn(move || answer(&shared, request, address.port()));
        }
    });
    Ok(address)
}

type Response = tiny_http::Response<std::io::Cursor<Vec<u8>>>;

/// Answers one request: the changes, or a file of the site.
fn answer(shared: &Shared, request: tiny_http::Request, port: u16) {
    let response = if !from_this_machine(&request, port) {
        text(403, "only pages from this server may ask it")
    } else if *request.method() != tiny_http::Method::Get {
        text(405, "only GET")
    } else {
        let (path, query) = request.url().split_once('?').unwrap_or((request.url(), ""));
        match path {
            CHANGES => {
                let since = query
                    .split('&')
                    .find_map(|p| p.strip_prefix("since="))
                    .and_then(|n| n.parse().ok());
                let json = shared.changes_after(since);
                with_type(tiny_http::Response::from_string(json), "application/json")
            }
            _ => file(shared, path),
        }
    };
    let response = response.with_header(header("Cache-Control", "no-store"));
    // The page may have gone away meanwhile: nothing to do.
    let _ = request.respond(response);
}

/// Whether the request names this server by its loopback address (`Host`), as the pages
/// it serves do: another site that a browser resolves to 127.0.0.1 cannot read it.
fn from_this_machine(request: &tiny_http::Request, port: u16) -> bool {
    let host = request
        .headers()
        .iter()
        .find(|h| h.field.equiv("Host"))
        .map(|h| h.value.as_str().to_ascii_lowercase());
    let allowed = [format!("127.0.0.1:{port}"), format!("localhost:{port}")];
    host.is_some_and(|h| allowed.contains(&h))
}

/// A file of the site; HTML pages with the live script added.
fn file(shared: &Shared, url_path: &str) -> Response {
    let Some(relative) = site_path(url_path) else {
        return text(404, "not found");
    };
    let _reading = shared.files.read().unwrap_or_else(PoisonError::into_inner);
    let mut path = shared.dir.join(relative);
    if path.is_dir() {
        path = path.join("index.html");
    }
    let Ok(bytes) = std::fs::read(&path) else {
        // Browsers ask for an icon the site does not have: no content, not an error.
        if url_path == "/favicon.ico" {
            return text(204, "");
        }
        return text(404, "not found");
    };
    let kind = content_type(&path);
    let bytes = match kind.starts_with("text/html") {
        true => with_live_script(bytes, shared.state().site),
        false => bytes,
    };
    with_type(tiny_http::Response::from_data(bytes), kind)
}

/// The path below the site that a URL path names; `None` for one that leaves it.
fn site_path(url_path: &str) -> Option<PathBuf> {
    let decoded = percent_decode(url_path)?;
    let mut path = PathBuf::new();
    for part in decoded.split('/').filter(|p| !p.is_empty()) {
        if part == "." || part == ".." || part.contains('\\') {
            return None;
        }
        path.push(part);
    }
    Some(path)
}

/// `%XX` escapes decoded; `None` if they are not UTF-8.
fn percent_decode(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok());
        match (bytes[i], hex.and_then(|h| u8::from_str_radix(h, 16).ok())) {
            (b'%', Some(byte)) => {
                out.push(byte);
                i += 3;
            }
            (byte, _) => {
                out.push(byte);
                i += 1;
            }
        }
    }
    String::from_utf8(out).ok()
}

/// `page` with the live script before its last `</body>` (or at its end).
fn with_live_script(page: Vec<u8>, site: u64) -> Vec<u8> {
    let script = format!(
        "<script>{}</script>\n",
        LIVE_JS.replace("__SITE__", &site.to_string())
    );
    let mut page = page;
    let lower = page.to_ascii_lowercase();
    let at = lower
        .windows(7)
        .rposition(|w| w == b"</body>")
        .unwrap_or(page.len());
    page.splice(at..at, script.into_bytes());
    page
}

/// The media type of a site's file, by its extension.
fn content_type(path: &Path) -> &'static str {
    let extension = path
        .extension()
        .and_then(|e| e.to_str())
        .unwrap_or("")
        .to_ascii_lowercase();
    match extension.as_str() {
        "html" | "htm" => "text/html; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "js" | "mjs" => "text/javascript; charset=utf-8",
        "json" => "application/json",
        "txt" => "text/plain; charset=utf-8",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "gif" => "image/gif",
        "webp" => "image/webp",
        "avif" => "image/avif",
        "ico" => "image/x-icon",
        "mp3" => "audio/mpeg",
        "ogg" | "oga" => "audio/ogg",
        "wav" => "audio/wav",
        "m4a" => "audio/mp4",
        "mp4" => "video/mp4",
        "webm" => "video/webm",
        "woff2" => "font/woff2",
        "woff" => "font/woff",
        "ttf" => "font/ttf",
        "otf" => "font/otf",
        _ => "application/octet-stream",
    }
}

fn header(name: &str, value: &str) -> tiny_http::Header {
    tiny_http::Header::from_bytes(name.as_bytes(), value.as_bytes()).expect("a valid header")
}

fn with_type(response: Response, kind: &str) -> Response {
    response.with_header(header("Content-Type", kind))
}

fn text(status: u16, message: &str) -> Response {
    with_type(
        tiny_http::Response::from_string(message),
        "text/plain; charset=utf-8",
    )
    .with_status_code(status)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn url_paths_stay_in_the_site() {
        assert_eq!(site_path("/"), Some(PathBuf::new()));
        assert_eq!(
            site_path("/nlp_a.md.html"),
            Some(PathBuf::from("nlp_a.md.html"))
        );
        assert_eq!(
            site_path("/loss%20chart%C3%A9.png"),
            Some(PathBuf::from("loss charté.png"))
        );
        assert_eq!(site_path("/../secret"), None);
        assert_eq!(site_path("/a/%2e%2e/%2e%2e/secret"), None);
        assert_eq!(site_path("/a%5c..%5csecret"), None);
    }

    #[test]
    fn the_script_goes_before_the_last_body_end() {
        let page = b"<html><body><iframe srcdoc=\"&lt;/body&gt;\"></iframe></BODY></html>";
        let served = String::from_utf8(with_live_script(page.to_vec(), 7)).unwrap();
        assert!(served.contains("const site = 7;"));
        let script = served.find("<script>").unwrap();
        assert!(script < served.find("</BODY>").unwrap());
        assert!(served.ends_with("</BODY></html>"));
    }

    #[test]
    fn a_request_for_changes_waits_for_one() {
        let shared = Arc::new(Shared {
            dir: PathBuf::new(),
            state: Mutex::new(State::default()),
            moved_on: Condvar::new(),
            files: RwLock::new(()),
        });
        // Not the current revision: answered at once.
        assert!(shared.changes_after(None).contains("\"revision\":0"));
        let waiting = {
            let shared = Arc::clone(&shared);
            std::thread::spawn(move || shared.changes_after(Some(0)))
        };
        std::thread::sleep(Duration::from_millis(50));
        shared.show("1 error".into());
        let answer = waiting.join().unwrap();
        assert!(answer.contains("\"revision\":1"), "{answer}");
        assert!(answer.contains("\"problems\":\"1 error\""), "{answer}");
    }
}
