//! The element tree a view is read from (each leaf marks whether the view used it), and what
//! stays generic: [`Section`] trees and the [`OtherField`]s nobody modelled.

use std::cell::Cell;

use quick_xml::Reader;
use quick_xml::events::{BytesStart, Event};
use serde::Serialize;

use crate::fa3::Fa3Error;

/// One XML element while building the view; `used` marks leaves the view consumed.
#[derive(Debug, Default)]
pub(super) struct Node {
    pub(super) name: String,
    pub(super) attributes: Vec<(String, String)>,
    pub(super) text: String,
    pub(super) children: Vec<Node>,
    pub(super) used: Cell<bool>,
}

impl Node {
    pub(super) fn get(&self, name: &str) -> Option<&Node> {
        let child = self.children.iter().find(|c| c.name == name)?;
        child.used.set(true);
        Some(child)
    }

    pub(super) fn all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a Node> + 'a {
        self.children
            .iter()
            .filter(move |c| c.name == name)
            .inspect(|c| c.used.set(true))
    }

    pub(super) fn text(&self, name: &str) -> Option<String> {
        self.get(name).map(|c| c.text.clone())
    }

    pub(super) fn texts(&self, name: &str) -> Vec<String> {
        self.all(name).map(|c| c.text.clone()).collect()
    }

    pub(super) fn attribute(&self, name: &str) -> Option<String> {
        self.attributes
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
    }

    fn mark_all(&self) {
        self.used.set(true);
        for c in &self.children {
            c.mark_all();
        }
    }
}

fn local(name: &str) -> String {
    name.rsplit(':').next().unwrap_or(name).to_owned()
}

fn open(e: &BytesStart<'_>) -> Node {
    let attributes = e
        .attributes()
        .flatten()
        .filter(|a| !a.key.as_ref().starts_with("xmlns"))
        .map(|a| {
            (
                local(a.key.local_name().as_ref()),
                a.normalized_value(quick_xml::XmlVersion::Implicit1_0)
                    .map(|v| v.into_owned())
                    .unwrap_or_default(),
            )
        })
        .collect();
    Node {
        name: local(e.local_name().as_ref()),
        attributes,
        ..Node::default()
    }
}

pub(super) fn parse_tree(xml: &str) -> Result<Node, Fa3Error> {
    let err = |e: String| Fa3Error::Xml(e);
    let mut reader = Reader::from_str(xml);
    let mut stack: Vec<Node> = Vec::new();
    let mut root = None;
    let close = |stack: &mut Vec<Node>, root: &mut Option<Node>, mut node: Node| {
        node.text = node.text.trim().to_owned();
        match stack.last_mut() {
            Some(parent) => parent.children.push(node),
            None => *root = Some(node),
        }
    };
    loop {
        match reader.read_event().map_err(|e| err(e.to_string()))? {
            Event::Start(e) => stack.push(open(&e)),
            Event::Empty(e) => {
                let node = open(&e);
                close(&mut stack, &mut root, node);
            }
            Event::End(_) => {
                let node = stack.pop().ok_or_else(|| err("unbalanced XML".into()))?;
                close(&mut stack, &mut root, node);
            }
            Event::Text(t) => {
                if let Some(top) = stack.last_mut() {
                    top.text.push_str(&t.xml10_content());
                }
            }
            Event::CData(t) => {
                if let Some(top) = stack.last_mut() {
                    top.text.push_str(&t.xml10_content());
                }
            }
            Event::GeneralRef(r) => {
                let text = match r.resolve_char_ref().map_err(|e| err(e.to_string()))? {
                    Some(c) => c.to_string(),
                    None => match r.xml10_content().as_ref() {
                        "amp" => "&",
                        "lt" => "<",
                        "gt" => ">",
                        "quot" => "\"",
                        "apos" => "'",
                        other => return Err(err(format!("unknown entity &{other};"))),
                    }
                    .to_owned(),
                };
                if let Some(top) = stack.last_mut() {
                    top.text.push_str(&text);
                }
            }
            Event::Eof => break,
            _ => {}
        }
    }
    root.ok_or_else(|| err("empty document".into()))
}

/// A generic element tree (document order) for blocks the view does not type.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Section {
    /// Element name, e.g. `Transport`, `Tabela`, `WKom`.
    pub name: String,
    /// Attributes (e.g. `Typ` of an attachment table column).
    pub attributes: Vec<(String, String)>,
    /// Text of a leaf ("" for empty cells, which keep table columns aligned).
    pub value: String,
    /// Child elements.
    pub children: Vec<Section>,
}

impl Section {
    pub(super) fn of(node: &Node) -> Self {
        node.mark_all();
        Self {
            name: node.name.clone(),
            attributes: node.attributes.clone(),
            value: node.text.clone(),
            children: node.children.iter().map(Self::of).collect(),
        }
    }

    /// The first child named `name`.
    pub fn child(&self, name: &str) -> Option<&Section> {
        self.children.iter().find(|c| c.name == name)
    }
}

/// An element the view does not model, kept with its path (e.g. `Fa/Nowe/Pole`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OtherField {
    /// Slash-separated element path below `Faktura`.
    pub path: String,
    /// Text.
    pub value: String,
}

pub(super) fn collect_other(node: &Node, path: &str, out: &mut Vec<OtherField>) {
    for child in &node.children {
        let p = if path.is_empty() {
            child.name.clone()
        } else {
            format!("{path}/{}", child.name)
        };
        if child.children.is_empty() {
            if !child.used.get() && !child.text.is_empty() {
                out.push(OtherField {
                    path: p,
                    value: child.text.clone(),
                });
            }
        } else {
            collect_other(child, &p, out);
        }
    }
}
