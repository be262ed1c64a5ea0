//! The service's records, mirroring `promptmesh:templates/types`.

/// A template's metadata and where its labels point.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Template {
    /// `tpl_<ulid>`.
    pub id: String,
    pub name: String,
    pub description: String,
    /// Lower-case, sorted, without repeats.
    pub tags: Vec<String>,
    /// The highest version; `latest` points here.
    pub latest_version: u32,
    /// Every label, `latest` included, sorted by name.
    pub labels: Vec<Label>,
    /// Unix milliseconds.
    pub created_at: u64,
    /// Unix milliseconds of the last change (new version, metadata or label).
    pub updated_at: u64,
}

/// A label and the version it points at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Label {
    pub name: String,
    pub version: u32,
}

/// One immutable version of a template's body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Version {
    pub template_id: String,
    /// 1, 2, 3, ...: contiguous and never reused.
    pub version: u32,
    pub body: String,
    /// Placeholder names in order of first use.
    pub variables: Vec<String>,
    /// Unix milliseconds.
    pub created_at: u64,
}

/// The input of `create`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct NewTemplate {
    pub name: String,
    pub description: String,
    pub body: String,
    pub tags: Vec<String>,
}

/// The input of `update`: a new body, and the metadata fields that are set replace the
/// template's.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TemplateUpdate {
    pub body: String,
    pub name: Option<String>,
    pub description: Option<String>,
    pub tags: Option<Vec<String>>,
}

/// Which version of a template to use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Selector {
    /// The highest version.
    Latest,
    Number(u32),
    Label(String),
}

/// The input of `search`; filters that are set must all match.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SearchQuery {
    /// Case-insensitive substring of the name, the latest body or a tag.
    pub text: Option<String>,
    /// Exact tag (compared after lower-casing and trimming).
    pub tag: Option<String>,
    /// Page size, 1 to 100.
    pub limit: u32,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

/// One page of search results, oldest template first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TemplatePage {
    pub items: Vec<Template>,
    /// Present only when more templates match.
    pub next_cursor: Option<String>,
}
