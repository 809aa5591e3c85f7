//! Every built-in rule's FAIL message over its inline tests, as insta
//! snapshots (`tests/snapshots/rule_messages__RULE.snap`): messages are what
//! people read, so a change to one is reviewed like code.
//! Accept changes with `INSTA_UPDATE=always cargo test --test rule_messages`.

use rampart::engine::Engine;

#[test]
fn every_rule_failure_message_is_reviewed() {
    let engine = Engine::load(None).expect("built-in rules load");
    for rule in engine.rules() {
        let mut text = String::new();
        for (test, message) in rule.failing_test_messages() {
            let message = message.unwrap_or_else(|err| panic!("{}: `{test}`: {err}", rule.id));
            text.push_str(&format!("{test}:\n  {message}\n"));
        }
        insta::assert_snapshot!(rule.id.clone(), text);
    }
}
