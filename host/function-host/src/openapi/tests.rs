use std::sync::Arc;

use http::Method;
use schemars::JsonSchema;
use serde_json::{json, Value};

use super::*;
use crate::app::{
    inline_schema_of, schema_of, AuthLevel, FunctionKind, HttpFunction, HttpOperation,
    OperationResponse, RequestBody, ResponseBody,
};
use durable_http::{HttpResponse, StatusCode};

#[derive(JsonSchema)]
#[allow(dead_code)]
struct Order {
    /// What is ordered.
    sku: String,
    quantity: u32,
}

#[derive(JsonSchema)]
#[serde(rename_all = "camelCase")]
#[allow(dead_code)]
struct ListQuery {
    /// How many to list.
    page_size: Option<u32>,
    cursor: String,
}

fn function(
    methods: &[Method],
    route: &str,
    auth_level: AuthLevel,
    operation: HttpOperation,
) -> FunctionKind {
    FunctionKind::Http(HttpFunction {
        methods: methods.to_vec(),
        route: route.into(),
        auth_level,
        operation,
        handler: Arc::new(|_, _| Box::pin(async { HttpResponse::new(StatusCode::OK) })),
    })
}

fn info() -> DocumentInfo {
    DocumentInfo {
        title: "orders".into(),
        version: "2.1.0".into(),
    }
}

fn sample_app() -> FunctionApp {
    let mut app = FunctionApp::default();
    app.add(
        "place_order",
        function(
            &[Method::POST],
            "orders",
            AuthLevel::Function,
            HttpOperation {
                operation_id: Some("placeOrder".into()),
                summary: Some("Places an order".into()),
                tags: vec!["orders".into()],
                request_body: Some(RequestBody {
                    schema: schema_of::<Order>,
                    required: true,
                }),
                responses: vec![OperationResponse {
                    status: 400,
                    body: ResponseBody::Error,
                }],
                starts_orchestration: true,
                ..Default::default()
            },
        ),
    )
    .unwrap();
    app.add(
        "list_orders",
        function(
            &[Method::GET],
            "orders/{page:int}/{filter?}",
            AuthLevel::Admin,
            HttpOperation {
                query: Some(inline_schema_of::<ListQuery>),
                responses: vec![OperationResponse {
                    status: 200,
                    body: ResponseBody::Json(schema_of::<Vec<Order>>),
                }],
                ..Default::default()
            },
        ),
    )
    .unwrap();
    app.add(
        "anything",
        function(&[], "any", AuthLevel::Anonymous, HttpOperation::default()),
    )
    .unwrap();
    app
}

#[test]
fn operations_carry_ids_parameters_bodies_and_security() {
    let doc = document(&sample_app(), "api", &info());
    assert_eq!(doc["openapi"], "3.1.0");
    assert_eq!(
        doc["info"],
        json!({"title": "orders", "version": "2.1.0", "description": doc["info"]["description"]})
    );

    let place = &doc["paths"]["/api/orders"]["post"];
    assert_eq!(place["operationId"], "placeOrder");
    assert_eq!(place["summary"], "Places an order");
    assert_eq!(place["tags"], json!(["orders"]));
    assert_eq!(place["x-function-name"], "place_order");
    assert_eq!(
        place["requestBody"]["content"]["application/json"]["schema"]["$ref"],
        "#/components/schemas/Order"
    );
    assert_eq!(
        place["security"],
        json!([{"functionKeyHeader": []}, {"functionKeyQuery": []}])
    );
    let statuses: Vec<&String> = place["responses"].as_object().unwrap().keys().collect();
    assert_eq!(statuses, ["202", "400", "401", "413"]);
    let accepted = &place["responses"]["202"];
    assert_eq!(accepted["headers"]["Location"]["required"], true);
    assert_eq!(
        accepted["content"]["application/json"]["schema"]["$ref"],
        "#/components/schemas/HttpManagementPayload"
    );
    assert_eq!(
        place["responses"]["400"]["content"]["application/json"]["schema"]["$ref"],
        "#/components/schemas/ErrorMessage"
    );

    let components = &doc["components"]["schemas"];
    assert_eq!(components["Order"]["required"], json!(["sku", "quantity"]));
    assert!(components["HttpManagementPayload"]["properties"]["statusQueryGetUri"].is_object());
    assert_eq!(components["ErrorMessage"]["required"], json!(["Message"]));
    let schemes = doc["components"]["securitySchemes"].as_object().unwrap();
    assert_eq!(
        schemes.keys().collect::<Vec<_>>(),
        [
            "functionKeyHeader",
            "functionKeyQuery",
            "masterKeyHeader",
            "masterKeyQuery"
        ]
    );
    assert_eq!(
        schemes["functionKeyQuery"],
        json!({"type": "apiKey", "in": "query", "name": "code", "description": schemes["functionKeyQuery"]["description"]})
    );
    assert_eq!(schemes["masterKeyHeader"]["name"], "x-functions-key");
}

#[test]
fn optional_segments_constraints_and_query_types() {
    let doc = document(&sample_app(), "api", &info());
    let full = &doc["paths"]["/api/orders/{page}/{filter}"]["get"];
    let short = &doc["paths"]["/api/orders/{page}"]["get"];
    assert_eq!(full["operationId"], "list_orders");
    assert_eq!(short["operationId"], "list_orders_without_filter");
    let names = |op: &Value| -> Vec<String> {
        op["parameters"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| {
                format!(
                    "{}:{}:{}",
                    p["in"].as_str().unwrap(),
                    p["name"].as_str().unwrap(),
                    p["required"]
                )
            })
            .collect()
    };
    assert_eq!(
        names(full),
        [
            "path:page:true",
            "path:filter:true",
            "query:cursor:true",
            "query:pageSize:false"
        ]
    );
    assert_eq!(names(short).len(), 3);
    let page_size = &full["parameters"][3];
    assert_eq!(page_size["schema"]["type"], "integer");
    assert_eq!(page_size["description"], "How many to list.");
    assert_eq!(full["parameters"][0]["schema"]["format"], "int32");
    // The host answers 404 when the page is not an int, and 401 without the master key.
    let statuses: Vec<&String> = full["responses"].as_object().unwrap().keys().collect();
    assert_eq!(statuses, ["200", "401", "404"]);
    assert_eq!(
        full["responses"]["200"]["content"]["application/json"]["schema"],
        json!({"type": "array", "items": {"$ref": "#/components/schemas/Order"}})
    );
    assert_eq!(
        full["security"],
        json!([{"masterKeyHeader": []}, {"masterKeyQuery": []}])
    );
}

#[test]
fn a_function_of_any_method_is_described_for_each() {
    let doc = document(&sample_app(), "", &info());
    let item = doc["paths"]["/any"].as_object().unwrap();
    assert_eq!(item.len(), 8);
    assert_eq!(item["get"]["operationId"], "anything_get");
    assert_eq!(item["trace"]["operationId"], "anything_trace");
    assert!(item["get"]["responses"]["default"].is_object());
    assert!(item["get"].get("security").is_none());
}

#[test]
fn the_built_in_routes_serve_json_yaml_and_the_page() {
    let openapi = OpenApi::new(&sample_app(), "api", &info());
    let json = openapi.answer(BuiltInRoute::Json);
    assert_eq!(
        json.headers["content-type"],
        "application/json; charset=utf-8"
    );
    let parsed: Value = serde_json::from_slice(&json.body).unwrap();
    assert_eq!(parsed["info"]["title"], "orders");
    let yaml = openapi.answer(BuiltInRoute::Yaml);
    assert_eq!(
        yaml.headers["content-type"],
        "application/yaml; charset=utf-8"
    );
    let text = std::str::from_utf8(&yaml.body).unwrap();
    assert!(text.starts_with("components:\n"), "{text}");
    assert!(text.contains("\n  \"/api/orders\":\n    post:\n"), "{text}");
    let page = openapi.answer(BuiltInRoute::Page);
    let html = std::str::from_utf8(&page.body).unwrap();
    assert!(html.contains("data-document=\"/api/openapi.json\""));
    assert!(html.contains("src=\"/api/swagger/ui/viewer.js\""));
    assert!(!html.contains("{{"));
    for route in BuiltInRoute::ALL {
        let r = openapi.answer(route);
        assert_eq!(r.status, StatusCode::OK);
        assert!(r.headers.contains_key("content-security-policy"));
        assert!(!r.body.is_empty());
    }
}

#[test]
fn the_page_loads_nothing_from_elsewhere() {
    for text in [PAGE, SCRIPT, STYLE] {
        for needle in [
            "src=\"http",
            "href=\"http",
            "url(",
            "@import",
            "from \"http",
            "<script>",
            "style=\"",
            " onclick=",
        ] {
            assert!(!text.contains(needle), "{needle:?}");
        }
    }
}
