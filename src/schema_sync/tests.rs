//! Pure tests of the diff, the plan view and the record-key renames.

use serde_json::json;
use uuid::Uuid;

use super::options::clean_option;
use super::*;
use crate::model::Relation;
use crate::plan::Plan;
use crate::transform::Reference;

fn field(name: &str, t: FieldType) -> Field {
    Field {
        id: Uuid::new_v4(),
        name: name.into(),
        label: names::capitalize(name),
        metadata_type: t.api_name().to_owned(),
        field_type: t,
        is_custom: true,
        is_system: false,
        is_active: true,
        is_nullable: true,
        is_unique: false,
        default_value: None,
        options: None,
        settings: None,
        relation: None,
        columns: Vec::new(),
    }
}

fn relation(name: &str, kind: RelationKind, to: &str) -> Field {
    let mut f = field(name, FieldType::Relation);
    f.relation = Some(Relation {
        kind,
        target_object_id: Uuid::nil(),
        target_object: to.into(),
        join_column: (kind == RelationKind::ManyToOne).then(|| format!("{name}Id")),
    });
    f
}

fn object(name: &str, plural: &str, custom: bool, fields: Vec<Field>) -> Object {
    let mut id = field("id", FieldType::Uuid);
    id.is_custom = false;
    id.is_system = true;
    let mut all = vec![id];
    all.extend(fields);
    Object {
        id: Uuid::new_v4(),
        name_singular: name.into(),
        name_plural: plural.into(),
        label_singular: names::capitalize(name),
        label_plural: names::capitalize(plural),
        is_custom: custom,
        is_system: false,
        is_active: true,
        is_remote: false,
        table: name.into(),
        table_exists: true,
        fields: all,
        unmapped_columns: Vec::new(),
    }
}

fn select(name: &str, values: &[&str]) -> Field {
    let mut f = field(name, FieldType::Select);
    f.options = Some(json!(values
        .iter()
        .enumerate()
        .map(|(i, v)| json!({"value": v, "label": v, "color": "red", "position": i}))
        .collect::<Vec<_>>()));
    f
}

fn standard_target() -> Model {
    let mut person = object("person", "people", false, vec![]);
    for f in &mut person.fields {
        f.is_custom = false;
    }
    Model {
        objects: vec![person, object("noteTarget", "noteTargets", false, vec![])],
    }
}

#[test]
fn a_missing_custom_object_and_its_relation_to_a_standard_object_are_created_in_order() {
    let mut pets = relation("pets", RelationKind::OneToMany, "pet");
    pets.label = "Pets".into();
    let source = Model {
        objects: vec![
            object("person", "people", false, vec![pets]),
            object(
                "pet",
                "pets",
                true,
                vec![
                    relation("owner", RelationKind::ManyToOne, "person"),
                    select("species", &["DOG", "CAT"]),
                ],
            ),
        ],
    };
    let d = diff(
        &source,
        &standard_target(),
        &SourceDetails::default(),
        &SchemaOptions::default(),
    );
    assert_eq!(d.objects.len(), 1);
    assert_eq!(d.objects[0].name_singular, "pet");
    let names: Vec<&str> = d.fields.iter().map(|f| f.name.as_str()).collect();
    assert_eq!(
        names,
        ["species", "owner"],
        "scalars before relations, no O2M side"
    );
    let owner = d.fields[1].relation.as_ref().unwrap();
    assert_eq!(owner.target_object, "person");
    assert_eq!(owner.inverse_name, "pets");
    assert_eq!(owner.inverse_label, "Pets");
    let input = d.fields[0].input();
    assert_eq!(input["options"][1]["value"], "CAT");
    assert_eq!(input["options"][1]["position"], 1);
    assert!(d.conflicts.is_empty());

    // The planner sees the object, its fields and the morph target Twenty adds.
    let view = d.plan_view(&standard_target(), &source);
    let pet = view.object("pet").expect("pet in the view");
    assert!(pet.field("id").is_some());
    let owner = pet.field("owner").expect("owner in the view");
    assert_eq!(
        owner.relation.as_ref().unwrap().join_column.as_deref(),
        Some("ownerId")
    );
    assert!(pet.field("species").is_some());
    let nt = view.object("noteTarget").unwrap();
    let morph = nt.field("targetPet").expect("targetPet on noteTarget");
    assert_eq!(
        morph.relation.as_ref().unwrap().join_column.as_deref(),
        Some("targetPetId")
    );
}

#[test]
fn a_same_named_field_of_another_type_is_a_conflict_with_one_sentence() {
    let source = Model {
        objects: vec![object(
            "person",
            "people",
            false,
            vec![field("nickname", FieldType::Number)],
        )],
    };
    let mut target = standard_target();
    target.objects[0]
        .fields
        .push(field("nickname", FieldType::Text));
    let d = diff(
        &source,
        &target,
        &SourceDetails::default(),
        &SchemaOptions::default(),
    );
    assert!(d.fields.is_empty());
    assert_eq!(d.conflicts.len(), 1);
    let s = &d.conflicts[0].sentence;
    assert!(s.contains("person.nickname is NUMBER in the source"), "{s}");
    assert!(s.contains("of type TEXT"), "{s}");
    assert!(s.contains("Settings → Data model"), "{s}");
    assert_eq!(d.blockers(), vec![s.clone()]);
}

#[test]
fn missing_select_options_are_added_and_present_ones_are_not() {
    let source = Model {
        objects: vec![object(
            "person",
            "people",
            false,
            vec![select("tier", &["A", "B", "C"])],
        )],
    };
    let mut target = standard_target();
    target.objects[0].fields.push(select("tier", &["A"]));
    let d = diff(
        &source,
        &target,
        &SourceDetails::default(),
        &SchemaOptions::default(),
    );
    assert_eq!(d.options.len(), 1);
    let values: Vec<&str> = d.options[0]
        .options
        .iter()
        .map(|o| o["value"].as_str().unwrap())
        .collect();
    assert_eq!(values, ["B", "C"]);
}

#[test]
fn inactive_things_are_reported_and_created_only_when_asked() {
    let mut hidden = field("hidden", FieldType::Text);
    hidden.is_active = false;
    let mut old = object("oldThing", "oldThings", true, vec![]);
    old.is_active = false;
    let source = Model {
        objects: vec![object("person", "people", false, vec![hidden]), old],
    };
    let d = diff(
        &source,
        &standard_target(),
        &SourceDetails::default(),
        &SchemaOptions::default(),
    );
    assert!(d.objects.is_empty() && d.fields.is_empty());
    assert_eq!(d.not_created.len(), 2, "{:?}", d.not_created);
    let all = SchemaOptions {
        include_inactive: true,
        ..SchemaOptions::default()
    };
    let d = diff(&source, &standard_target(), &SourceDetails::default(), &all);
    assert_eq!(d.objects.len(), 1);
    assert_eq!(d.fields.len(), 1);
}

#[test]
fn a_reserved_field_name_is_created_with_the_custom_suffix_and_the_record_key_follows() {
    let source = Model {
        objects: vec![object(
            "person",
            "people",
            false,
            vec![field("type", FieldType::Text)],
        )],
    };
    let target = standard_target();
    let d = diff(
        &source,
        &target,
        &SourceDetails::default(),
        &SchemaOptions::default(),
    );
    assert_eq!(d.fields[0].name, "typeCustom");
    assert_eq!(
        d.renames,
        vec![Rename {
            object: "person".into(),
            field: Some("type".into()),
            target: "typeCustom".into()
        }]
    );
    // The planner looks fields up by source name.
    let view = d.plan_view(&target, &source);
    assert!(view.object("person").unwrap().field("type").is_some());
    let mut plan = Plan {
        objects: vec![crate::plan::ObjectPlan {
            object: "person".into(),
            target_plural: "people".into(),
            fields: vec![crate::plan::FieldDecision {
                source: "type".into(),
                key: "type".into(),
                reference: Reference::None,
                deferred: false,
                after_config: false,
                unique: false,
                omit_empty: false,
            }],
            dropped: vec![],
            live: 0,
            deleted: 0,
            requests: 0,
        }],
        skipped: vec![],
        members: vec![],
        blockers: vec![],
        estimate: crate::plan::Estimate {
            records: 0,
            record_requests: 0,
            deferred_requests: 0,
            after_config_requests: 0,
            files: 0,
            file_requests: 0,
            batch_size: 1,
            requests_per_minute: 1,
            seconds: 0.0,
        },
    };
    d.rename_keys(&mut plan);
    assert_eq!(plan.objects[0].fields[0].key, "typeCustom");
}

#[test]
fn system_and_morph_fields_are_never_created_directly() {
    let mut system = field("searchVector", FieldType::TsVector);
    system.is_system = true;
    let mut morph = relation("targetThing", RelationKind::ManyToOne, "person");
    morph.field_type = FieldType::MorphRelation;
    morph.metadata_type = "MORPH_RELATION".into();
    let source = Model {
        objects: vec![object(
            "noteTarget",
            "noteTargets",
            false,
            vec![system, morph],
        )],
    };
    let d = diff(
        &source,
        &standard_target(),
        &SourceDetails::default(),
        &SchemaOptions::default(),
    );
    assert!(d.fields.is_empty());
    assert_eq!(d.not_created.len(), 1, "{:?}", d.not_created);
    assert!(d.not_created[0].reason.contains("MORPH_RELATION"));
}

#[test]
fn unknown_option_colours_become_gray_and_bad_ids_are_replaced() {
    let o = clean_option(
        &json!({"id": "nope", "value": "X", "label": "", "color": "teal"}),
        3,
    );
    assert_eq!(o["color"], "gray");
    assert_eq!(o["label"], "X");
    assert_eq!(o["position"], 3);
    assert!(Uuid::parse_str(o["id"].as_str().unwrap()).is_ok());
}

#[test]
fn option_values_twenty_refuses_are_warned_about_and_not_sent() {
    let source = Model {
        objects: vec![object(
            "person",
            "people",
            false,
            vec![select("tier", &["GOLD", "mid-market", "9LIVES"])],
        )],
    };
    let d = diff(
        &source,
        &standard_target(),
        &SourceDetails::default(),
        &SchemaOptions::default(),
    );
    let sent: Vec<&str> = d.fields[0]
        .options
        .as_ref()
        .unwrap()
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["value"].as_str().unwrap())
        .collect();
    assert_eq!(sent, ["GOLD"]);
    assert_eq!(d.warnings.len(), 1);
    assert!(
        d.warnings[0].contains("\"mid-market\", \"9LIVES\""),
        "{}",
        d.warnings[0]
    );
    assert!(d.warnings[0].contains("rejected"));
    assert!(option_value_accepted("OPTION_1") && !option_value_accepted("A__B"));
}

#[test]
fn the_create_input_carries_label_description_icon_default_nullability_and_uniqueness() {
    let mut weight = field("weight", FieldType::Number);
    weight.is_unique = true;
    weight.is_nullable = false;
    weight.default_value = Some(json!(0));
    weight.settings = Some(json!({"dataType": "float", "decimals": 2}));
    let source = Model {
        objects: vec![object("person", "people", false, vec![weight.clone()])],
    };
    let mut details = SourceDetails::default();
    details.fields.insert(
        weight.id,
        Presentation {
            description: Some("Body weight".into()),
            icon: Some("IconScale".into()),
        },
    );
    let d = diff(
        &source,
        &standard_target(),
        &details,
        &SchemaOptions::default(),
    );
    let input = d.fields[0].input();
    assert_eq!(
        input,
        json!({"type": "NUMBER", "name": "weight", "label": "Weight", "isNullable": false,
               "description": "Body weight", "icon": "IconScale", "defaultValue": 0,
               "settings": {"dataType": "float", "decimals": 2}, "isUnique": true})
    );
}

#[test]
fn a_relation_input_lets_twenty_compute_settings_and_names_its_inverse() {
    let mut owner = relation("owner", RelationKind::ManyToOne, "person");
    owner.settings = Some(json!({"relationType": "MANY_TO_ONE", "joinColumnName": "ownerId"}));
    let mut pets = relation("pets", RelationKind::OneToMany, "pet");
    pets.label = "Pets".into();
    let mut details = SourceDetails::default();
    details.inverse.insert(owner.id, pets.id);
    let source = Model {
        objects: vec![
            object("person", "people", false, vec![pets]),
            object("pet", "pets", true, vec![owner]),
        ],
    };
    let d = diff(
        &source,
        &standard_target(),
        &details,
        &SchemaOptions::default(),
    );
    let input = d.fields[0].input();
    assert!(input.get("settings").is_none(), "{input}");
    assert_eq!(input["type"], "RELATION");
    let rel = d.fields[0].relation.as_ref().unwrap();
    assert_eq!(
        (rel.inverse_name.as_str(), rel.inverse_label.as_str()),
        ("pets", "Pets")
    );
}

#[test]
fn with_include_inactive_the_planner_sees_inactive_objects_as_active() {
    let mut old = object("oldThing", "oldThings", true, vec![]);
    old.is_active = false;
    let source = Model { objects: vec![old] };
    assert!(!planned_source(&source, &SchemaOptions::default()).objects[0].is_active);
    let all = SchemaOptions {
        include_inactive: true,
        ..SchemaOptions::default()
    };
    assert!(planned_source(&source, &all).objects[0].is_active);
}

/// A standard field as a source stores it: not custom, with a column.
fn standard_field(name: &str, t: FieldType) -> Field {
    let mut f = field(name, t);
    f.is_custom = false;
    f.columns = vec![crate::model::Column {
        name: name.into(),
        sub_field: None,
        udt_name: "text".into(),
        read_expr: None,
    }];
    f
}

#[test]
fn standard_fields_the_target_dropped_are_recreated_as_custom_fields_unless_turned_off() {
    let mut person = object(
        "person",
        "people",
        false,
        vec![
            standard_field("city", FieldType::Text),
            standard_field("avatarUrl", FieldType::Text),
            standard_field("position", FieldType::Position),
        ],
    );
    let mut system = standard_field("searchHint", FieldType::Text);
    system.is_system = true;
    person.fields.push(system);
    let mut favorite = object("favorite", "favorites", false, vec![]);
    favorite
        .fields
        .push(standard_field("forWorkspaceMember", FieldType::Text));
    let source = Model {
        objects: vec![person, favorite],
    };
    let mut target = standard_target();
    target
        .objects
        .push(object("favorite", "favorites", false, vec![]));

    let d = diff(
        &source,
        &target,
        &SourceDetails::default(),
        &SchemaOptions::default(),
    );
    let created: Vec<(&str, &str, bool)> = d
        .fields
        .iter()
        .map(|f| (f.object.as_str(), f.name.as_str(), f.standard))
        .collect();
    // Only person.city: the picture path moves as a file, positions and system fields are not
    // data to recreate, and favorites are not migrated at all.
    assert_eq!(created, vec![("person", "city", true)]);
    assert!(d
        .render_text()
        .contains("city TEXT (standard in the source"));
    let view = d.plan_view(&target, &source);
    assert!(view.object("person").unwrap().field("city").is_some());

    let off = SchemaOptions {
        standard_fields: false,
        ..SchemaOptions::default()
    };
    let d = diff(&source, &target, &SourceDetails::default(), &off);
    assert!(d.fields.is_empty(), "{:?}", d.fields);
}

// A 1.x source names the default relations of a custom object after it (`timelineActivity.pet`,
// before the 1.11 morph migration); the target makes them when the object is created and
// refuses a second one, so none is created and each maps onto the target's name.
#[test]
fn the_default_relations_of_a_custom_object_are_never_created_again() {
    let mut morph = relation("targetPet", RelationKind::ManyToOne, "pet");
    morph.field_type = FieldType::MorphRelation;
    morph.metadata_type = "MORPH_RELATION".into();
    let source = Model {
        objects: vec![
            object(
                "pet",
                "pets",
                true,
                vec![
                    relation(
                        "timelineActivities",
                        RelationKind::OneToMany,
                        "timelineActivity",
                    ),
                    relation("favorites", RelationKind::OneToMany, "favorite"),
                    relation("noteTargets", RelationKind::OneToMany, "noteTarget"),
                ],
            ),
            object(
                "timelineActivity",
                "timelineActivities",
                false,
                vec![relation("pet", RelationKind::ManyToOne, "pet")],
            ),
            object(
                "favorite",
                "favorites",
                false,
                vec![relation("pet", RelationKind::ManyToOne, "pet")],
            ),
            object("noteTarget", "noteTargets", false, vec![morph]),
        ],
    };
    let mut target = standard_target();
    target.objects.push(object(
        "timelineActivity",
        "timelineActivities",
        false,
        vec![],
    ));
    target
        .objects
        .push(object("favorite", "favorites", false, vec![]));
    let d = diff(
        &source,
        &target,
        &SourceDetails::default(),
        &SchemaOptions::default(),
    );
    assert_eq!(d.objects.len(), 1, "pet is created");
    assert!(d.fields.is_empty(), "no field created: {:?}", d.fields);
    assert!(d.not_created.is_empty(), "{:?}", d.not_created);
    let renamed: Vec<(&str, Option<&str>, &str)> = d
        .renames
        .iter()
        .map(|r| (r.object.as_str(), r.field.as_deref(), r.target.as_str()))
        .collect();
    assert_eq!(renamed, [("timelineActivity", Some("pet"), "targetPet")]);
}
