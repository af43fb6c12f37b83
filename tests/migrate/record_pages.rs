//! Record page layouts the workspace changed (issue 16): replayed onto the target's own
//! layouts, the server's tabs and widgets kept under the target's ids.

use twenty_migrate::fixture::config::config_id;
use twenty_migrate::pipeline;
use twenty_migrate::twin::{PageLayout, Twin};
use uuid::Uuid;

use super::config::{field_ids, on_target};
use super::{target, twin, world};

/// Each tab (title, shown) with its widgets (title, shown), in the order the API answers.
type Shown = Vec<(String, bool, Vec<(String, bool)>)>;

fn shown(layout: &PageLayout) -> Shown {
    layout
        .tabs
        .iter()
        .map(|t| {
            let widgets = t
                .widgets
                .iter()
                .map(|w| (w.title.clone(), w.is_active))
                .collect();
            (t.title.clone(), t.is_active, widgets)
        })
        .collect()
}

fn tab(title: &str, active: bool, widgets: &[(&str, bool)]) -> (String, bool, Vec<(String, bool)>) {
    let widgets = widgets.iter().map(|(w, a)| ((*w).to_owned(), *a)).collect();
    (title.to_owned(), active, widgets)
}

fn layout<'a>(layouts: &'a [PageLayout], name: &str) -> &'a PageLayout {
    let mut found = layouts.iter().filter(|l| l.name == name);
    let one = found.next().unwrap_or_else(|| panic!("no layout {name}"));
    assert!(found.next().is_none(), "{name} doubled");
    one
}

/// The target's FIELDS_WIDGET view called `name`.
fn fields_view(twin: &Twin, name: &str) -> Uuid {
    twin.views()
        .iter()
        .find(|v| v.name == name)
        .unwrap_or_else(|| panic!("no view {name}"))
        .id
        .0
}

#[tokio::test]
async fn an_edited_record_page_lands_on_the_targets_own_layout_and_a_rerun_sends_nothing() {
    let w = world(60).await;
    let twin = twin(w.members(), 60).await;
    let t = target(&twin, 1_000_000);
    let ours = |name: &str| on_target(&twin, config_id(w.spec.id, name));

    let report = pipeline::migrate(&w.options(), &t).await.expect("migrate");
    let config = report.config.expect("configuration");
    assert!(
        !config.notes.iter().any(|n| n.contains("record page")),
        "{:?}",
        config.notes
    );
    let c = &config.kinds["record_pages"];
    assert_eq!((c.created, c.updated, c.unchanged), (0, 2, 0));

    let layouts = twin.record_page_layouts();
    let company = layout(&layouts, "Default Company Layout");
    // The standard tabs the source deactivated stay, deactivated; the one it added is there.
    assert_eq!(
        shown(company),
        vec![
            tab(
                "Overview",
                true,
                &[("Fields", true), ("People", true), ("Opportunities", false)]
            ),
            tab("Timeline", true, &[("Timeline", true)]),
            tab("Sales", true, &[("Pipeline", true)]),
            tab("Tasks", true, &[("Tasks", true)]),
            tab("Notes", true, &[("Notes", true)]),
            tab("Files", true, &[("Files", true)]),
            tab("Emails", false, &[("Emails", true)]),
            tab("Calendar", true, &[("Calendar", true)]),
        ]
    );
    let tab_id = |l: &PageLayout, title: &str| {
        l.tabs
            .iter()
            .find(|t| t.title == title)
            .map(|t| t.id.0)
            .unwrap_or_else(|| panic!("no tab {title}"))
    };
    // The server's tab keeps the target's id; the workspace's has ours.
    assert_ne!(
        tab_id(company, "Overview"),
        ours("recordpage/company/tab/home")
    );
    assert_eq!(
        tab_id(company, "Sales"),
        ours("recordpage/company/tab/sales")
    );
    // References point at the target's view and field.
    let overview = &company.tabs[0];
    assert_eq!(
        overview.widgets[0].configuration.0["viewId"],
        fields_view(&twin, "Company Record Page Fields").to_string()
    );
    let fields = field_ids(&t).await;
    let people = fields[&("company".to_owned(), "people".to_owned())];
    assert_eq!(
        overview.widgets[1].configuration.0["fieldMetadataId"],
        people.to_string()
    );
    let sales = &company.tabs[2];
    assert_eq!(
        sales.widgets[0].configuration.0["url"],
        "https://example.com/pipeline"
    );

    // The custom object's layout, made by the server when the object was created.
    let pet = layout(&layouts, "Default Pet Layout");
    assert_eq!(
        shown(pet),
        vec![
            tab("Home", true, &[("Fields", true)]),
            tab("Care", true, &[("Owner", true)]),
            tab("Timeline", true, &[("Timeline", true)]),
            tab("Tasks", true, &[("Tasks", true)]),
            tab("Notes", false, &[("Notes", true)]),
            tab("Files", true, &[("Files", true)]),
        ]
    );
    let owner = fields[&("pet".to_owned(), "owner".to_owned())];
    assert_eq!(
        pet.tabs[1].widgets[0].configuration.0["fieldMetadataId"],
        owner.to_string()
    );
    assert_eq!(
        pet.tabs[0].widgets[0].configuration.0["viewId"],
        fields_view(&twin, "Pet Record Page Fields").to_string()
    );

    // A rerun finds both in place.
    let again = pipeline::migrate(&w.options(), &t).await.expect("rerun");
    let c = &again.config.expect("configuration").kinds["record_pages"];
    assert_eq!((c.created, c.updated, c.unchanged), (0, 0, 2));
    let after = twin.record_page_layouts();
    assert_eq!(
        shown(layout(&after, "Default Company Layout")),
        shown(company)
    );
    assert_eq!(after.len(), layouts.len(), "no layout added");
}

/// A record page layout of the workspace's own making, for company: one tab with one widget.
const OWN_LAYOUT_SQL: &str = r#"
INSERT INTO core."pageLayout" (id, name, "workspaceId", type, "objectMetadataId", "universalIdentifier", "applicationId")
  SELECT 'a0000000-0000-4000-8000-000000000001', 'Company page', w.id, 'RECORD_PAGE', o.id,
         'a0000000-0000-4000-8000-000000000001', w."workspaceCustomApplicationId"
  FROM core.workspace w JOIN core."objectMetadata" o ON o."workspaceId" = w.id AND o."nameSingular" = 'company';
INSERT INTO core."pageLayoutTab" (id, title, "workspaceId", position, "pageLayoutId", "universalIdentifier", "applicationId", "layoutMode")
  SELECT 'a0000000-0000-4000-8000-000000000002', 'Main', w.id, 0, 'a0000000-0000-4000-8000-000000000001',
         'a0000000-0000-4000-8000-000000000002', w."workspaceCustomApplicationId", 'CANVAS'
  FROM core.workspace w;
INSERT INTO core."pageLayoutWidget" (id, "pageLayoutTabId", "workspaceId", title, type, "gridPosition", configuration, position, "universalIdentifier", "applicationId")
  SELECT 'a0000000-0000-4000-8000-000000000003', 'a0000000-0000-4000-8000-000000000002', w.id, 'Site', 'IFRAME',
         '{"row":0,"column":0,"rowSpan":6,"columnSpan":12}', '{"configurationType":"IFRAME","url":"https://example.com"}',
         '{"layoutMode":"CANVAS"}', 'a0000000-0000-4000-8000-000000000003', w."workspaceCustomApplicationId"
  FROM core.workspace w;
"#;

#[tokio::test]
async fn a_record_page_the_workspace_made_is_created_once_even_after_a_run_cut_short_after_creating_it(
) {
    let w = world(60).await;
    w.client
        .batch_execute(OWN_LAYOUT_SQL)
        .await
        .expect("own layout");
    let twin = twin(w.members(), 60).await;
    let t = target(&twin, 1_000_000);
    let main_tab = Uuid::parse_str("a0000000-0000-4000-8000-000000000002").unwrap();

    // A run cut short right after `createPageLayout`: the target holds the layout, tabless.
    let company = t
        .model()
        .await
        .expect("model")
        .object("company")
        .unwrap()
        .id;
    t.metadata_graphql(
        "mutation($i: CreatePageLayoutInput!) { createPageLayout(input: $i) { id } }",
        serde_json::json!({ "i": { "name": "Company page", "type": "RECORD_PAGE", "objectMetadataId": company } }),
    )
    .await
    .expect("createPageLayout");

    let report = pipeline::migrate(&w.options(), &t).await.expect("migrate");
    let c = &report.config.expect("configuration").kinds["record_pages"];
    assert_eq!(
        (c.created, c.updated, c.unchanged),
        (0, 3, 0),
        "the leftover taken up"
    );
    let layouts = twin.record_page_layouts();
    let own = layout(&layouts, "Company page");
    assert_eq!(shown(own), vec![tab("Main", true, &[("Site", true)])]);
    assert_eq!(own.tabs[0].id.0, on_target(&twin, main_tab), "our tab id");

    let again = pipeline::migrate(&w.options(), &t).await.expect("rerun");
    let c = &again.config.expect("configuration").kinds["record_pages"];
    assert_eq!((c.created, c.updated, c.unchanged), (0, 0, 3));
    assert_eq!(twin.record_page_layouts().len(), layouts.len());
}

// A widget moved within its tab changes only its `position` (a vertical list's index): it used
// to go unseen, the grid position and configuration being equal.
#[tokio::test]
async fn a_widget_whose_position_alone_changed_is_updated_on_the_next_run() {
    let w = world(60).await;
    let twin = twin(w.members(), 60).await;
    let t = target(&twin, 1_000_000);
    pipeline::migrate(&w.options(), &t).await.expect("migrate");

    let people = config_id(w.spec.id, "recordpage/company/tab/home/people");
    w.client
        .execute(
            "UPDATE core.\"pageLayoutWidget\" SET position = '{\"layoutMode\":\"VERTICAL_LIST\",\"index\":5}' WHERE id = $1",
            &[&people],
        )
        .await
        .expect("move the widget");
    let again = pipeline::migrate(&w.options(), &t).await.expect("rerun");
    let c = &again.config.expect("configuration").kinds["record_pages"];
    assert_eq!((c.created, c.updated, c.unchanged), (0, 1, 1));
    let layouts = twin.record_page_layouts();
    let company = layout(&layouts, "Default Company Layout");
    let moved = company.tabs[0]
        .widgets
        .iter()
        .find(|x| x.title == "People")
        .expect("People");
    assert_eq!(moved.position.as_ref().unwrap().0["index"], 5);
}
