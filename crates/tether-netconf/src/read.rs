//! get and get-config (RFC 6241 §7.1, §7.7): the data printed as XML by libyang, with
//! with-defaults (RFC 6243) and the subtree or XPath filter applied.

use roxmltree::Node;
use tether_model::{ConfigTree, Schema};
use tether_telemetry::StateTree;
use yang3::data::{Data, DataFormat, DataNodeRef, DataPrinterFlags, DataTree};
use yang3::schema::SchemaNodeKind;

use crate::error::RpcError;
use crate::xml::{self, NC, WD, escape};

/// RFC 6243 retrieval modes; the basic mode is `explicit`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WithDefaults {
    ReportAll,
    Trim,
    Explicit,
}

impl WithDefaults {
    /// The `<with-defaults>` parameter of `op` (absent: the basic mode).
    pub fn of(op: Node<'_, '_>) -> Result<Self, RpcError> {
        match xml::child(op, WD, "with-defaults").map(|n| n.text().unwrap_or("").trim().to_string())
        {
            None => Ok(WithDefaults::Explicit),
            Some(v) => match v.as_str() {
                "report-all" => Ok(WithDefaults::ReportAll),
                "trim" => Ok(WithDefaults::Trim),
                "explicit" => Ok(WithDefaults::Explicit),
                _ => Err(RpcError::protocol(
                    "invalid-value",
                    "with-defaults must be report-all, trim or explicit",
                )
                .with_path("/rpc/with-defaults")),
            },
        }
    }

    fn flags(self) -> DataPrinterFlags {
        DataPrinterFlags::WITH_SIBLINGS
            | match self {
                WithDefaults::ReportAll => DataPrinterFlags::WD_ALL,
                WithDefaults::Trim => DataPrinterFlags::WD_TRIM,
                WithDefaults::Explicit => DataPrinterFlags::WD_EXPLICIT,
            }
    }
}

/// The configuration plus (for `get`) the state leaves, in one tree.
pub fn with_state(
    schema: &'static Schema,
    config: &ConfigTree,
    state: Option<&StateTree>,
) -> Result<DataTree<'static>, RpcError> {
    // libyang cannot copy a tree with no node: start from an empty one then.
    let mut tree = if config.tree().reference().is_none() {
        DataTree::new(schema.context())
    } else {
        config.tree().duplicate().map_err(internal)?
    };
    if let Some(state) = state {
        for (p, leaf) in state.under("/") {
            // A state leaf the schema does not know is the worker's bug, not the client's.
            if let Err(e) = tree.new_path(&p, Some(&leaf.value), false) {
                tracing::debug!(path = %p, error = %e, "state leaf does not fit the schema");
            }
        }
        schema.clear_errors();
    }
    Ok(tree)
}

fn internal(e: yang3::Error) -> RpcError {
    RpcError::application("operation-failed", format!("reading the datastore: {e}"))
}

/// `<data>…</data>` for `tree`, filtered by the operation's `<filter>`.
pub fn data(
    schema: &'static Schema,
    tree: &DataTree<'static>,
    op: Node<'_, '_>,
    wd: WithDefaults,
) -> Result<String, RpcError> {
    let filter = xml::child(op, NC, "filter");
    let body = match filter {
        None => print(schema, tree, wd)?,
        Some(f) => match f.attribute("type").unwrap_or("subtree") {
            "subtree" => {
                let all = print(schema, tree, wd)?;
                subtree(&all, f)?
            }
            "xpath" => {
                let select = f
                    .attribute("select")
                    .ok_or_else(|| RpcError::rpc_missing_attribute("select", "filter"))?;
                xpath(schema, tree, f, select, wd)?
            }
            _ => {
                return Err(RpcError::protocol(
                    "bad-attribute",
                    "filter type must be subtree or xpath",
                )
                .with_path("/rpc/filter"));
            }
        },
    };
    Ok(format!("<data>{body}</data>"))
}

fn print(
    schema: &'static Schema,
    tree: &DataTree<'static>,
    wd: WithDefaults,
) -> Result<String, RpcError> {
    // libyang returns no string at all (yang3 then reads a null pointer) when nothing would
    // be printed: answer that case before asking it to print.
    let explicit = tree.traverse().any(|n| match n.schema().kind() {
        SchemaNodeKind::Leaf | SchemaNodeKind::LeafList => !n.is_default(),
        SchemaNodeKind::List => true,
        _ => false,
    });
    if tree.reference().is_none() || (wd == WithDefaults::Explicit && !explicit) {
        return Ok(String::new());
    }
    let mut flags = wd.flags();
    if wd == WithDefaults::Trim {
        // Trim may drop every leaf; the containers kept keep the output non-empty.
        flags |= DataPrinterFlags::KEEP_EMPTY_CONT;
    }
    let r = tree.print_string(DataFormat::XML, flags);
    schema.clear_errors();
    r.map_err(internal)
}

/// XPath filter (RFC 6241 §8.9): the select expression's prefixes are the filter element's
/// XML prefixes; libyang wants module names, so they are rewritten first.
fn xpath(
    schema: &'static Schema,
    tree: &DataTree<'static>,
    filter: Node<'_, '_>,
    select: &str,
    wd: WithDefaults,
) -> Result<String, RpcError> {
    let expr = rewrite_prefixes(schema, filter, select);
    if tree.reference().is_none() {
        return Ok(String::new());
    }
    let found: Vec<DataNodeRef<'_>> = match tree.find_xpath(&expr) {
        Ok(set) => set.collect(),
        Err(e) => {
            schema.clear_errors();
            return Err(
                RpcError::application("invalid-value", format!("bad XPath: {e}"))
                    .with_path("/rpc/filter/@select"),
            );
        }
    };
    let mut out = DataTree::new(schema.context());
    for n in found {
        let copy = n.duplicate(true).map_err(internal)?;
        out.merge(&copy).map_err(internal)?;
    }
    print(schema, &out, wd)
}

/// Replaces `pfx:` (outside quotes) by `module:` where `pfx` is bound to a module's namespace.
fn rewrite_prefixes(schema: &'static Schema, scope: Node<'_, '_>, expr: &str) -> String {
    let mut out = String::with_capacity(expr.len());
    let mut quote: Option<char> = None;
    let mut word = String::new();
    let flush = |word: &mut String, out: &mut String, colon: bool| {
        if colon
            && let Some(ns) = scope.lookup_namespace_uri(Some(word.as_str()))
            && let Some(m) = schema.context().get_module_implemented_ns(ns)
        {
            out.push_str(m.name());
        } else {
            out.push_str(word);
        }
        word.clear();
    };
    for c in expr.chars() {
        match quote {
            Some(q) => {
                out.push(c);
                if c == q {
                    quote = None;
                }
            }
            None if c == '\'' || c == '"' => {
                flush(&mut word, &mut out, false);
                quote = Some(c);
                out.push(c);
            }
            None if c.is_alphanumeric() || c == '_' || c == '-' || c == '.' => word.push(c),
            None => {
                flush(&mut word, &mut out, c == ':');
                out.push(c);
            }
        }
    }
    flush(&mut word, &mut out, false);
    out
}

/// Subtree filtering (RFC 6241 §6) of the printed data.
pub fn subtree(data: &str, filter: Node<'_, '_>) -> Result<String, RpcError> {
    if data.is_empty() {
        return Ok(String::new());
    }
    let wrapped = format!("<data>{data}</data>");
    let doc = xml::parse(&wrapped)?;
    let mut out = String::new();
    let filters: Vec<Node<'_, '_>> = xml::elements(filter).collect();
    for d in xml::elements(doc.root_element()) {
        for f in &filters {
            if same(d, *f) {
                select(&wrapped, d, *f, None, &mut out);
            }
        }
    }
    Ok(out)
}

fn same(d: Node<'_, '_>, f: Node<'_, '_>) -> bool {
    d.tag_name().name() == f.tag_name().name()
        && f.tag_name()
            .namespace()
            .is_none_or(|ns| d.tag_name().namespace() == Some(ns))
}

fn is_content_match(f: Node<'_, '_>) -> bool {
    xml::elements(f).next().is_none() && f.text().is_some_and(|t| !t.trim().is_empty())
}

/// Appends what filter node `f` selects of data node `d` to `out`.
fn select(src: &str, d: Node<'_, '_>, f: Node<'_, '_>, parent_ns: Option<&str>, out: &mut String) {
    let fchildren: Vec<Node<'_, '_>> = xml::elements(f).collect();
    if fchildren.is_empty() {
        if is_content_match(f) {
            if d.text().unwrap_or("").trim() == f.text().unwrap_or("").trim() {
                whole(src, d, parent_ns, out);
            }
        } else {
            whole(src, d, parent_ns, out);
        }
        return;
    }
    let (matches, others): (Vec<_>, Vec<_>) =
        fchildren.into_iter().partition(|c| is_content_match(*c));
    for m in &matches {
        let ok = xml::elements(d)
            .any(|c| same(c, *m) && c.text().unwrap_or("").trim() == m.text().unwrap_or("").trim());
        if !ok {
            return;
        }
    }
    if others.is_empty() {
        whole(src, d, parent_ns, out);
        return;
    }
    let ns = d.tag_name().namespace();
    let mut inner = String::new();
    for c in xml::elements(d) {
        if matches.iter().any(|m| same(c, *m)) {
            whole(src, c, ns, &mut inner);
            continue;
        }
        for o in &others {
            if same(c, *o) {
                select(src, c, *o, ns, &mut inner);
            }
        }
    }
    // A containment node with nothing selected beneath it is left out.
    if inner.is_empty() {
        return;
    }
    open(d, parent_ns, out);
    out.push_str(&inner);
    out.push_str(&format!("</{}>", d.tag_name().name()));
}

fn open(d: Node<'_, '_>, parent_ns: Option<&str>, out: &mut String) {
    let name = d.tag_name().name();
    match d.tag_name().namespace() {
        Some(ns) if Some(ns) != parent_ns => {
            out.push_str(&format!("<{name} xmlns=\"{}\">", escape(ns)))
        }
        _ => out.push_str(&format!("<{name}>")),
    }
}

/// A data node copied whole. Its text in the source is reused, with its namespace and the
/// prefixes it uses declared on it again so it stands alone.
fn whole(src: &str, d: Node<'_, '_>, parent_ns: Option<&str>, out: &mut String) {
    let text = &src[d.range()];
    let name = d.tag_name().name();
    let mut decls = String::new();
    if let Some(ns) = d.tag_name().namespace()
        && Some(ns) != parent_ns
        && !text.starts_with(&format!("<{name} xmlns="))
    {
        decls.push_str(&format!(" xmlns=\"{}\"", escape(ns)));
    }
    for n in d.namespaces() {
        if let Some(p) = n.name()
            && !text.contains(&format!("xmlns:{p}="))
        {
            decls.push_str(&format!(" xmlns:{p}=\"{}\"", escape(n.uri())));
        }
    }
    if decls.is_empty() {
        out.push_str(text);
    } else {
        out.push_str(&format!("<{name}{decls}"));
        out.push_str(&text[1 + name.len()..]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn filt(data: &str, filter: &str) -> String {
        let f = format!("<filter xmlns=\"{NC}\">{filter}</filter>");
        let doc = roxmltree::Document::parse(&f).unwrap();
        subtree(data, doc.root_element()).unwrap()
    }

    const DATA: &str = "<top xmlns=\"urn:t\"><g><id>1</id><d>a</d></g><g><id>2</id><d>b</d></g><x>9</x></top><other xmlns=\"urn:o\"><y>1</y></other>";

    #[test]
    fn subtree_rules() {
        // Namespace selection, containment, selection, content match.
        assert_eq!(
            filt(DATA, "<other xmlns=\"urn:o\"/>"),
            "<other xmlns=\"urn:o\"><y>1</y></other>"
        );
        assert_eq!(
            filt(DATA, "<top xmlns=\"urn:t\"><x/></top>"),
            "<top xmlns=\"urn:t\"><x>9</x></top>"
        );
        assert_eq!(
            filt(DATA, "<top xmlns=\"urn:t\"><g><id>2</id></g></top>"),
            "<top xmlns=\"urn:t\"><g><id>2</id><d>b</d></g></top>"
        );
        assert_eq!(
            filt(DATA, "<top xmlns=\"urn:t\"><g><id>1</id><d/></g></top>"),
            "<top xmlns=\"urn:t\"><g><id>1</id><d>a</d></g></top>"
        );
        assert_eq!(
            filt(DATA, "<top xmlns=\"urn:t\"><g><id>3</id></g></top>"),
            ""
        );
        assert_eq!(filt(DATA, "<top xmlns=\"urn:other\"/>"), "");
    }
}
