//! The contract files (`*.contract` beside this file): every message of a package with every
//! field, and enums with their values, as plain text so the tables read like the .proto they
//! pin. One grammar, parsed here; see the header of gnmi.contract.

use std::collections::BTreeSet;

use prost_types::field_descriptor_proto::{Label, Type};

use crate::descriptors::{Descriptors, type_label};

/// A field as the contract and the descriptor both state it: (name, number, label, type).
pub type Field = (String, i32, i32, String);

/// A package's contract: its messages (with their fields) and enums.
#[derive(Default)]
pub struct Contract {
    /// (message, its fields) in file order.
    pub messages: Vec<(String, BTreeSet<Field>)>,
    /// (enum, values in declaration order).
    pub enums: Vec<(String, Vec<(String, i32)>)>,
}

impl Contract {
    /// Parses a contract file; panics naming the line on anything it does not understand.
    pub fn parse(text: &str) -> Contract {
        enum Open {
            None,
            Message,
            Enum,
        }
        let mut c = Contract::default();
        let mut open = Open::None;
        for (n, line) in text.lines().enumerate() {
            let words: Vec<&str> = line.split_whitespace().collect();
            let bad = || -> ! { panic!("contract line {}: cannot read {line:?}", n + 1) };
            match (words.as_slice(), line.starts_with(' ')) {
                ([], _) => {}
                ([first, ..], _) if first.starts_with('#') => {}
                (["message", name], false) => {
                    c.messages.push(((*name).to_owned(), BTreeSet::new()));
                    open = Open::Message;
                }
                (["enum", name], false) => {
                    c.enums.push(((*name).to_owned(), Vec::new()));
                    open = Open::Enum;
                }
                ([name, number, label, ty], true) if matches!(open, Open::Message) => {
                    let label = match *label {
                        "optional" => Label::Optional,
                        "repeated" => Label::Repeated,
                        _ => bad(),
                    };
                    let number = number.parse().unwrap_or_else(|_| bad());
                    let fields = &mut c.messages.last_mut().unwrap_or_else(|| bad()).1;
                    fields.insert(((*name).to_owned(), number, label as i32, (*ty).to_owned()));
                }
                ([name, number], true) if matches!(open, Open::Enum) => {
                    let number = number.parse().unwrap_or_else(|_| bad());
                    let values = &mut c.enums.last_mut().unwrap_or_else(|| bad()).1;
                    values.push(((*name).to_owned(), number));
                }
                _ => bad(),
            }
        }
        c
    }

    /// Checks that the messages of `package` are exactly the contract's and that each has
    /// exactly its fields (name, number, label, type), and that each enum of the contract has
    /// exactly its values in order.
    pub fn assert_matches(&self, d: &Descriptors, package: &str) {
        let found: BTreeSet<String> = d
            .messages_of_package(package)
            .into_iter()
            .filter(|(_, m)| !m.options.as_ref().is_some_and(|o| o.map_entry()))
            .map(|(name, _)| name)
            .collect();
        let expected: BTreeSet<String> = self.messages.iter().map(|(m, _)| m.clone()).collect();
        assert_eq!(found, expected, "messages of package {package}");
        for (msg, wanted) in &self.messages {
            let actual: BTreeSet<Field> = d
                .message(msg)
                .field
                .iter()
                .map(|f| {
                    let ty = match f.r#type() {
                        Type::Message | Type::Enum => f.type_name().to_owned(),
                        other => type_label(other).to_owned(),
                    };
                    (f.name().to_owned(), f.number(), f.label() as i32, ty)
                })
                .collect();
            assert_eq!(&actual, wanted, "fields of {msg}");
        }
        let enums = d.enums();
        for (name, values) in &self.enums {
            let e = enums
                .get(name)
                .unwrap_or_else(|| panic!("enum {name} is in the descriptor set"));
            let actual: Vec<(String, i32)> = e
                .value
                .iter()
                .map(|v| (v.name().to_owned(), v.number()))
                .collect();
            assert_eq!(&actual, values, "values of enum {name}");
        }
    }

    /// The contract's enum names.
    pub fn enum_names(&self) -> BTreeSet<String> {
        self.enums.iter().map(|(n, _)| n.clone()).collect()
    }
}
