//! Math typeset on the way into the pages: Anki's reviewer typesets `\(…\)` and `\[…\]`
//! with MathJax in the browser; the preview turns them into MathML here (`math-core`),
//! which browsers display themselves, so that the pages need no script from a network.

use math_core::{LatexToMathML, MathCoreConfig, MathDisplay};
use regex::Regex;
use std::sync::LazyLock;

/// A tag (group 1: `/` of a closing one, group 2: an element MathJax leaves alone), or
/// inline (group 3) or display (group 4) math.
static TOKEN: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?si)<(/?)(pre|code|script|style|textarea|math)?\b[^>]*>|\\\((.*?)\\\)|\\\[(.*?)\\\]",
    )
    .unwrap()
});

thread_local! {
    static CONVERTER: LatexToMathML =
        LatexToMathML::new(MathCoreConfig::default()).expect("no macros to parse");
}

/// `html` with its math as MathML. A formula that cannot be converted stays as written,
/// marked `class="math-error"` with the reason as its title.
pub(crate) fn typeset(html: &str) -> String {
    let mut out = String::with_capacity(html.len());
    let mut at = 0;
    let mut skipped = 0usize;
    for c in TOKEN.captures_iter(html) {
        let whole = c.get(0).expect("group 0");
        out.push_str(&html[at..whole.start()]);
        at = whole.end();
        if c.get(2).is_some() {
            match c.get(1).is_some_and(|m| m.as_str() == "/") {
                true => skipped = skipped.saturating_sub(1),
                false => skipped += 1,
            }
        }
        let (latex, display) = match (c.get(3), c.get(4)) {
            (Some(inline), _) => (inline.as_str(), MathDisplay::Inline),
            (_, Some(block)) => (block.as_str(), MathDisplay::Block),
            _ => (whole.as_str(), MathDisplay::Inline),
        };
        if whole.as_str().starts_with('<') || skipped > 0 {
            out.push_str(whole.as_str());
            continue;
        }
        out.push_str(&convert(latex, whole.as_str(), display));
    }
    out.push_str(&html[at..]);
    out
}

fn convert(latex: &str, written: &str, display: MathDisplay) -> String {
    let source = decode(latex);
    match CONVERTER.with(|c| c.convert_with_local_counter(&source, display)) {
        Ok(mathml) => mathml,
        Err(e) => format!(
            "<span class=\"math-error\" title=\"{}\">{written}</span>",
            crate::text::escape_attr(&e.to_string())
        ),
    }
}

/// The text of a formula as MathJax reads it from the page: entities decoded.
fn decode(latex: &str) -> String {
    crate::text::strip_html(latex)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn math_becomes_mathml_outside_code() {
        let html = r"<p>\(x^2\) and \[\frac{a}{b}\]</p><code>\(y\)</code> \(1 &lt; 2\)";
        let out = typeset(html);
        assert!(out.starts_with("<p><math"), "{out}");
        assert!(out.contains(r#"<math display="block">"#), "{out}");
        assert!(out.contains(r"<code>\(y\)</code>"), "{out}");
        assert!(out.contains("<mo>&lt;</mo>"), "{out}");
        assert!(!out.contains(r"\(x"), "{out}");
        let bad = typeset(r"\(\frac{a}\)");
        assert!(bad.contains("math-error"), "{bad}");
    }
}
