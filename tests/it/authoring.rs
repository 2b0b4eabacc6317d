//! What the author wrote reaches Anki as written (issue 12): dollars in URLs and paths,
//! every independent problem in one `check`, block content on a Basic front.

use crate::common;

use common::anki::{card, import, text};
use common::files::{temp_dir, write_files};
use common::run::{assert_success, build};
use common::Backend;

/// A `$` in a link destination, an autolink, an image path or an HTML attribute is not
/// math: Anki renders the URL or the packaged file name as written.
#[test]
fn dollars_in_urls_paths_and_attributes_reach_anki_as_written() {
    let dir = temp_dir("dollar-urls");
    let src = dir.join("cards");
    write_files(
        &src,
        &[
            (
                "a.md",
                "## Which query is this?\n\
                 [q](https://example.org/P?$filter=x&$top=2) and \
                 <https://example.org/?$a=1&$b=2>, worth $x$\n\n\
                 ![c](p$1$.png) <img src=\"p$1$.png\" title=\"$t$\">\n\n\
                 <a href=\"https://e.org/?$k=1&$v=2\">raw</a>\n"
                    .as_bytes(),
            ),
            ("p$1$.png", b"\x89PNG picture"),
        ],
    );
    let package = dir.join("deck.apkg");
    assert_success(&build(&src, &package));
    let report = import(Backend::Current, &dir.join("collection"), &package);
    let answer = text(card(&report, "Which query", 0), "answer");
    for expected in [
        r#"<a href="https://example.org/P?$filter=x&amp;$top=2">q</a>"#,
        r#"<a href="https://example.org/?$a=1&amp;$b=2">"#,
        r#"<a href="https://e.org/?$k=1&$v=2">raw</a>"#,
        r#"title="$t$""#,
        r"worth \(x\)",
    ] {
        assert!(answer.contains(expected), "{expected} in {answer}");
    }
    let sources: Vec<&str> = answer.split("src=\"").skip(1).collect();
    assert_eq!(sources.len(), 2, "{answer}");
    for source in sources {
        assert!(source.starts_with("p$1$-"), "{answer}");
    }
    let media = report["media_files"].as_array().unwrap();
    assert!(
        media
            .iter()
            .any(|m| m.as_str().unwrap().starts_with("p$1$-")),
        "{media:?}"
    );
}
