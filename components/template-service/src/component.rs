//! The component: exports `promptmesh:templates/store@0.1.0` over Spin's SQLite database
//! `default`, converting between the WIT types and the service's records.

wit_bindgen::generate!({
    world: "template-service",
    path: "../../wit/services",
    generate_all,
});

use exports::promptmesh::templates::store::Guest;
use promptmesh::templates::types as wit;
use promptmesh_guest::db::SpinDb;
use promptmesh_guest::time::now_ms;

use crate::error::{Error, FieldError};
use crate::model;
use crate::{labels, schema, search, templates, versions};

struct TemplateService;

impl Guest for TemplateService {
    fn create(
        template: wit::NewTemplate,
    ) -> Result<(wit::Template, wit::TemplateVersion), wit::Error> {
        let input = model::NewTemplate {
            name: template.name,
            description: template.description,
            body: template.body,
            tags: template.tags,
        };
        let (template, version) = templates::create(&open()?, &input, now_ms())?;
        Ok((template.into(), version.into()))
    }

    fn get(id: String) -> Result<wit::Template, wit::Error> {
        Ok(templates::get(&open()?, &id)?.into())
    }

    fn update(
        id: String,
        update: wit::TemplateUpdate,
    ) -> Result<(wit::Template, wit::TemplateVersion), wit::Error> {
        let update = model::TemplateUpdate {
            body: update.body,
            name: update.name,
            description: update.description,
            tags: update.tags,
        };
        let (template, version) = templates::update(&open()?, &id, &update, now_ms())?;
        Ok((template.into(), version.into()))
    }

    fn delete(id: String) -> Result<(), wit::Error> {
        Ok(templates::delete(&open()?, &id)?)
    }

    fn search(query: wit::SearchQuery) -> Result<wit::TemplatePage, wit::Error> {
        let query = model::SearchQuery {
            text: query.text,
            tag: query.tag,
            limit: query.limit,
            cursor: query.cursor,
        };
        let page = search::search(&open()?, &query)?;
        Ok(wit::TemplatePage {
            items: page.items.into_iter().map(Into::into).collect(),
            next_cursor: page.next_cursor,
        })
    }

    fn versions(id: String) -> Result<Vec<wit::TemplateVersion>, wit::Error> {
        let list = versions::list(&open()?, &id)?;
        Ok(list.into_iter().map(Into::into).collect())
    }

    fn resolve(
        id: String,
        selector: wit::VersionSelector,
    ) -> Result<wit::TemplateVersion, wit::Error> {
        let selector = match selector {
            wit::VersionSelector::Latest => model::Selector::Latest,
            wit::VersionSelector::Number(n) => model::Selector::Number(n),
            wit::VersionSelector::Label(name) => model::Selector::Label(name),
        };
        Ok(versions::resolve(&open()?, &id, &selector)?.into())
    }

    fn set_label(id: String, label: String, version: u32) -> Result<wit::Template, wit::Error> {
        Ok(labels::set(&open()?, &id, &label, version, now_ms())?.into())
    }

    fn delete_label(id: String, label: String) -> Result<wit::Template, wit::Error> {
        Ok(labels::delete(&open()?, &id, &label, now_ms())?.into())
    }
}

/// The database `default`, with the service's tables in place.
fn open() -> Result<SpinDb, Error> {
    let db = SpinDb::open_default()?;
    schema::migrate(&db)?;
    Ok(db)
}

impl From<model::Template> for wit::Template {
    fn from(t: model::Template) -> Self {
        wit::Template {
            id: t.id,
            name: t.name,
            description: t.description,
            tags: t.tags,
            latest_version: t.latest_version,
            labels: t
                .labels
                .into_iter()
                .map(|l| wit::Label {
                    name: l.name,
                    version: l.version,
                })
                .collect(),
            created_at: t.created_at,
            updated_at: t.updated_at,
        }
    }
}

impl From<model::Version> for wit::TemplateVersion {
    fn from(v: model::Version) -> Self {
        wit::TemplateVersion {
            template_id: v.template_id,
            version: v.version,
            body: v.body,
            variables: v.variables,
            created_at: v.created_at,
        }
    }
}

impl From<Error> for wit::Error {
    fn from(e: Error) -> Self {
        match e {
            Error::NotFound(m) => wit::Error::NotFound(m),
            Error::Invalid(FieldError {
                field,
                code,
                message,
            }) => wit::Error::Invalid(wit::FieldError {
                field,
                code,
                message,
            }),
            Error::Conflict(m) => wit::Error::Conflict(m),
            Error::Internal(m) => wit::Error::Internal(m),
        }
    }
}

export!(TemplateService);
