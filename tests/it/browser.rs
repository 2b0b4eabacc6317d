//! The preview in a real browser (headless Chromium, see `common::chromium`), served by
//! `ankideck preview --watch`: every page of the sample deck and the rich test deck
//! loads with its math typeset, every image loaded and no error in the console, also in
//! night mode at phone width; an open page reloads by itself when a card file changes.
//!
//! `ANKIDECK_SCREENSHOT=docs/preview.png cargo test --test it browser::` also writes the
//! README's picture of the preview.

#![cfg(unix)]

use crate::common;

use common::chromium::{self, Browser};
use common::files::{copy_dir, temp_dir};
use common::watching::Watching;
use common::{path_str, workspace};
use serde_json::Value;
use std::sync::{Mutex, PoisonError};

/// One browser at a time: each is a few processes and a few hundred MB, on a machine of
/// two cores that the rest of the suite shares.
static ONE_BROWSER: Mutex<()> = Mutex::new(());

/// Serves the preview of `source`; returns the server and its address.
fn serve(source: &str, name: &str) -> (Watching, String) {
    let out = temp_dir(&format!("browser-{name}"));
    let args = [
        "preview",
        "--watch",
        source,
        "-o",
        path_str(&out),
        "--port",
        "0",
    ];
    let mut server = Watching::start(&args, &[]);
    let line = server.expect("http://127.0.0.1:").pop().unwrap();
    let start = line.find("http://").unwrap();
    let url = line[start..].split_whitespace().next().unwrap().to_string();
    (server, url)
}

/// True once the page and every card frame in it, with their images, have loaded.
const READY: &str = r#"(() => {
  if (document.readyState !== "complete") return false;
  const docs = [document, ...Array.from(document.querySelectorAll("iframe"), f => f.contentDocument)];
  return docs.every(d => d && d.readyState === "complete"
    && Array.from(d.images).every(i => i.complete));
})()"#;

/// What the page shows: its frames, math elements, math that failed, and each image
/// with its natural width (0: not loaded).
const SHOWN: &str = r#"(() => {
  const frames = Array.from(document.querySelectorAll("iframe"), f => f.contentDocument);
  const docs = [document, ...frames];
  const all = (selector) => docs.flatMap(d => Array.from(d.querySelectorAll(selector)));
  return {
    frames: frames.length,
    math: all("math").length,
    mathErrors: all(".math-error").map(e => e.outerHTML),
    images: all("img").map(i => [i.getAttribute("src"), i.naturalWidth]),
    text: frames.map(d => d.body ? d.body.innerText : "").join("\n"),
  };
})()"#;

/// True once the page is at phone width in night mode, and every card too.
const NIGHT_AND_PHONE: &str = r#"document.body.classList.contains("night")
  && document.body.classList.contains("phone")
  && Array.from(document.querySelectorAll("iframe"), f => f.contentDocument.body)
    .every(b => b.classList.contains("nightMode") && b.classList.contains("night_mode"))"#;

/// Scrolls to the first note whose card shows an image.
const SHOW_A_PICTURE: &str = r#"(() => {
  const frame = Array.from(document.querySelectorAll("iframe"))
    .find(f => f.contentDocument.querySelector("img"));
  const note = frame.closest("[id]") || frame;
  window.scrollTo(0, note.getBoundingClientRect().top + window.scrollY - 24);
})()"#;

/// The site's own pages that the index links to.
const PAGES: &str = r##"Array.from(new Set(Array.from(document.querySelectorAll("a[href]"), a => a.href.split("#")[0])
  .filter(h => h.startsWith(location.origin) && h.endsWith(".html"))))"##;

/// Opens the index and every page it links to; returns what each page showed.
fn visit_all(browser: &mut Browser, url: &str) -> Vec<(String, Value)> {
    browser.open(url);
    let pages: Vec<String> = serde_json::from_value(browser.eval(PAGES)).unwrap();
    assert!(!pages.is_empty(), "the index links to no page");
    let mut shown = Vec::new();
    for page in pages {
        browser.open(&page);
        browser.wait_for(READY);
        shown.push((page, browser.eval(SHOWN)));
    }
    shown
}

/// Checks every page of `deck`'s preview; returns the number of math elements and of
/// images on them.
fn check_deck(deck: &str, name: &str) -> (u64, usize) {
    let Some(chromium) = chromium::find(&format!("browser::{name}")) else {
        return (0, 0);
    };
    let _alone = ONE_BROWSER.lock().unwrap_or_else(PoisonError::into_inner);
    let (_server, url) = serve(path_str(&workspace().join(deck)), name);
    let mut browser = Browser::start(&chromium);
    let shown = visit_all(&mut browser, &url);
    let (mut math, mut images) = (0, 0);
    for (page, seen) in &shown {
        assert!(seen["frames"].as_u64().unwrap() > 0, "{page}: no card");
        assert_eq!(seen["mathErrors"], serde_json::json!([]), "{page}");
        for image in seen["images"].as_array().unwrap() {
            assert!(
                image[1].as_u64().unwrap() > 0,
                "{page}: {image} did not load"
            );
            images += 1;
        }
        math += seen["math"].as_u64().unwrap();
    }
    // Night mode at phone width: the cards' bodies get Anki's night-mode classes.
    browser.open(&format!("{}?night=1&phone=1", shown[0].0));
    browser.wait_for(READY);
    browser.wait_for(NIGHT_AND_PHONE);
    assert!(browser.errors.is_empty(), "{:#?}", browser.errors);
    let pages = shown.len();
    eprintln!("{deck}: {pages} pages, {math} math elements, {images} images loaded");
    if let (Some(path), "cards") = (std::env::var_os("ANKIDECK_SCREENSHOT"), deck) {
        browser.open(&shown[0].0);
        browser.wait_for(READY);
        // The first note with a picture, its heading at the top.
        browser.eval(SHOW_A_PICTURE);
        std::fs::write(path, browser.screenshot(900, 640)).unwrap();
    }
    (math, images)
}

#[test]
fn the_sample_deck_shows_its_math_and_images_without_errors() {
    let (math, images) = check_deck("cards", "sample");
    if chromium::find("browser::sample").is_some() {
        assert!(math > 0, "no math typeset");
        assert!(images > 0, "no image shown");
    }
}

#[test]
fn the_rich_deck_shows_without_errors() {
    check_deck("tests/decks/rich", "rich");
}

/// An open page follows the sources: a new note appears without touching the browser,
/// and a broken save shows its problem over the cards, which stay.
#[test]
fn an_open_page_follows_the_sources() {
    let Some(chromium) = chromium::find("browser::an_open_page_follows_the_sources") else {
        return;
    };
    let _alone = ONE_BROWSER.lock().unwrap_or_else(PoisonError::into_inner);
    let dir = temp_dir("browser-live");
    copy_dir(&workspace().join("tests/decks/rich"), &dir.join("src"));
    std::fs::write(dir.join("src/live.md"), "## Before the change\n\nback\n").unwrap();
    let (_server, url) = serve(path_str(&dir.join("src")), "live-site");
    let mut browser = Browser::start(&chromium);
    browser.open(&format!("{url}live.md.html"));
    browser.wait_for(READY);
    let text = |b: &mut Browser| b.eval(SHOWN)["text"].as_str().unwrap().to_string();
    assert!(text(&mut browser).contains("Before the change"));
    std::fs::write(
        dir.join("src/live.md"),
        "## Before the change\n\nback\n\n## After the change\n\nback\n",
    )
    .unwrap();
    browser.wait_for(
        r#"Array.from(document.querySelectorAll("iframe")).some(f => f.contentDocument
            && f.contentDocument.body && f.contentDocument.body.innerText.includes("After the change"))"#,
    );
    std::fs::write(dir.join("src/live.md"), "## Broken {{c1::\n").unwrap();
    browser.wait_for(r#"!!document.getElementById("ankideck-live-problems")"#);
    let problems = browser.eval(r#"document.getElementById("ankideck-live-problems").textContent"#);
    let problems = problems.as_str().unwrap();
    assert!(problems.contains("unclosed cloze deletion"), "{problems}");
    assert!(problems.contains("live.md:1:11"), "{problems}");
    assert!(text(&mut browser).contains("After the change"));
    // Mended: the problems go.
    std::fs::write(dir.join("src/live.md"), "## Mended\n\nback\n").unwrap();
    browser.wait_for(r#"!document.getElementById("ankideck-live-problems")"#);
    browser.wait_for(READY);
    assert!(text(&mut browser).contains("Mended"));
    assert!(browser.errors.is_empty(), "{:#?}", browser.errors);
}
