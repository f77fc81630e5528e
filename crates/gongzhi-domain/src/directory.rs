//! The directory (areas, handling units, categories), read from an admin-editable data
//! file and checked once: every parent and unit area exists, codes are unique.

use std::collections::{BTreeMap, HashSet};

use serde::{Deserialize, Serialize};

use crate::ids::Code;

#[derive(Debug, thiserror::Error)]
pub enum DirectoryError {
    #[error("directory file is not valid TOML")]
    Syntax(#[from] toml::de::Error),
    #[error("directory: code '{0}' is used twice")]
    Duplicate(String),
    #[error("directory: {what} '{code}' refers to unknown area '{area}'")]
    UnknownArea {
        what: &'static str,
        code: String,
        area: String,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AreaLevel {
    District,
    Street,
    Community,
    Grid,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Area {
    pub code: Code,
    pub name: String,
    pub level: AreaLevel,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent: Option<Code>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prefix: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Unit {
    pub code: Code,
    pub name: String,
    pub area: Code,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CategoryKind {
    Resident,
    Enterprise,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Category {
    pub code: Code,
    pub name: String,
    pub kind: CategoryKind,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DirectoryFile {
    #[serde(default)]
    area: Vec<Area>,
    #[serde(default)]
    unit: Vec<Unit>,
    #[serde(default)]
    category: Vec<Category>,
}

/// A checked directory.
#[derive(Debug, Clone, Serialize)]
pub struct Directory {
    pub areas: Vec<Area>,
    pub units: Vec<Unit>,
    pub categories: Vec<Category>,
    #[serde(skip)]
    area_index: BTreeMap<Code, usize>,
}

impl Directory {
    pub fn from_toml(text: &str) -> Result<Self, DirectoryError> {
        let file: DirectoryFile = toml::from_str(text)?;
        // Codes are unique within each list; a unit may share a code with a category
        // (the environment office handles environment concerns).
        let lists: [Vec<&Code>; 3] = [
            file.area.iter().map(|a| &a.code).collect(),
            file.unit.iter().map(|u| &u.code).collect(),
            file.category.iter().map(|c| &c.code).collect(),
        ];
        for list in lists {
            let mut seen = HashSet::new();
            if let Some(code) = list.into_iter().find(|code| !seen.insert(*code)) {
                return Err(DirectoryError::Duplicate(code.to_string()));
            }
        }
        let area_index: BTreeMap<Code, usize> = file
            .area
            .iter()
            .enumerate()
            .map(|(i, a)| (a.code.clone(), i))
            .collect();
        for area in &file.area {
            if let Some(parent) = area
                .parent
                .as_ref()
                .filter(|p| !area_index.contains_key(*p))
            {
                return Err(DirectoryError::UnknownArea {
                    what: "area",
                    code: area.code.to_string(),
                    area: parent.to_string(),
                });
            }
        }
        for unit in &file.unit {
            if !area_index.contains_key(&unit.area) {
                return Err(DirectoryError::UnknownArea {
                    what: "unit",
                    code: unit.code.to_string(),
                    area: unit.area.to_string(),
                });
            }
        }
        Ok(Self {
            areas: file.area,
            units: file.unit,
            categories: file.category,
            area_index,
        })
    }

    pub fn area(&self, code: &Code) -> Option<&Area> {
        self.area_index.get(code).map(|i| &self.areas[*i])
    }

    pub fn communities(&self) -> impl Iterator<Item = &Area> {
        self.areas
            .iter()
            .filter(|a| a.level == AreaLevel::Community)
    }

    pub fn unit(&self, code: &Code) -> Option<&Unit> {
        self.units.iter().find(|u| &u.code == code)
    }

    pub fn category(&self, code: &Code) -> Option<&Category> {
        self.categories.iter().find(|c| &c.code == code)
    }

    /// Whether `area` is `ancestor` or lies below it (a street leader sees its communities).
    pub fn is_within(&self, area: &Code, ancestor: &Code) -> bool {
        let mut current = self.area(area);
        while let Some(node) = current {
            if &node.code == ancestor {
                return true;
            }
            current = node.parent.as_ref().and_then(|p| self.area(p));
        }
        false
    }

    /// The tracking-code prefix of the street an area belongs to.
    pub fn prefix_for(&self, area: &Code) -> Option<&str> {
        let mut current = self.area(area);
        while let Some(node) = current {
            if let Some(prefix) = &node.prefix {
                return Some(prefix);
            }
            current = node.parent.as_ref().and_then(|p| self.area(p));
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SHIPPED: &str = include_str!("../../../data/directory.toml");

    fn code(c: &str) -> Code {
        Code::parse("code", c).unwrap()
    }

    #[test]
    fn the_shipped_directory_has_shiyans_ten_communities_and_twelve_enterprise_areas() {
        let directory = Directory::from_toml(SHIPPED).unwrap();
        assert_eq!(directory.communities().count(), 10);
        let enterprise = directory
            .categories
            .iter()
            .filter(|c| c.kind == CategoryKind::Enterprise)
            .count();
        assert_eq!(enterprise, 12);
        assert_eq!(directory.categories.len(), 22);
    }

    #[test]
    fn a_community_lies_within_its_street_and_district_but_not_a_neighbour() {
        let directory = Directory::from_toml(SHIPPED).unwrap();
        assert!(directory.is_within(&code("huiyu-mingdu"), &code("shilong")));
        assert!(directory.is_within(&code("shilong"), &code("shiyan")));
        assert!(directory.is_within(&code("shilong"), &code("baoan")));
        assert!(!directory.is_within(&code("shilong"), &code("langxin")));
        assert_eq!(directory.prefix_for(&code("shilong")), Some("SY"));
    }

    #[test]
    fn a_unit_in_an_unknown_area_is_refused() {
        let text = "[[unit]]\ncode = \"x\"\nname = \"X\"\narea = \"nowhere\"\n";
        assert!(matches!(
            Directory::from_toml(text),
            Err(DirectoryError::UnknownArea { .. })
        ));
    }
}
