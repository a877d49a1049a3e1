//! Just enough XML for the Blob and Queue services' flat answers: the text of named elements.

/// The unescaped text of every `<tag>…</tag>` in `xml`, in order.
pub(crate) fn all(xml: &str, tag: &str) -> Vec<String> {
    let open = format!("<{tag}>");
    let close = format!("</{tag}>");
    let mut found = Vec::new();
    let mut rest = xml;
    while let Some(start) = rest.find(&open) {
        let after = &rest[start + open.len()..];
        let Some(end) = after.find(&close) else { break };
        found.push(unescape(&after[..end]));
        rest = &after[end + close.len()..];
    }
    found
}

/// The unescaped text of the first `<tag>…</tag>` in `xml`.
pub(crate) fn first(xml: &str, tag: &str) -> Option<String> {
    all(xml, tag).into_iter().next()
}

/// The raw inner XML of every `<tag>…</tag>` (for lists of records).
pub(crate) fn blocks<'a>(xml: &'a str, tag: &str) -> Vec<&'a str> {
    let open = format!("<{tag}>");
    let close = format!("</{tag}>");
    let mut found = Vec::new();
    let mut rest = xml;
    while let Some(start) = rest.find(&open) {
        let after = &rest[start + open.len()..];
        let Some(end) = after.find(&close) else { break };
        found.push(&after[..end]);
        rest = &after[end + close.len()..];
    }
    found
}

fn unescape(s: &str) -> String {
    s.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&apos;", "'")
        .replace("&amp;", "&")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_elements_and_blocks() {
        let xml = "<L><M><Id>1</Id><T>a&amp;b</T></M><M><Id>2</Id><T></T></M></L>";
        assert_eq!(all(xml, "Id"), ["1", "2"]);
        assert_eq!(first(xml, "T").as_deref(), Some("a&b"));
        assert_eq!(blocks(xml, "M").len(), 2);
        assert_eq!(first(xml, "Nope"), None);
    }
}
