//! The scale-out recipes of docs/scale-out.md, checked and run: the Kubernetes manifests
//! against a schema of the fields they use (kubectl's dry run needs a cluster), the
//! scripts with `bash -n`; then every recipe's own commands run here, on a small seed
//! range, with the shard index its scheduler would give, and their merge must equal one
//! `ordo sweep`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::{json, Value};
use yaml_rust2::{Yaml, YamlLoader};

const SEEDS: &str = "1..10";

fn recipe(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/scale-out").join(name)
}

fn read(name: &str) -> String {
    std::fs::read_to_string(recipe(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
}

fn yaml_documents(name: &str) -> Vec<Value> {
    YamlLoader::load_from_str(&read(name))
        .unwrap_or_else(|e| panic!("{name} is not YAML: {e}"))
        .iter()
        .map(to_json)
        .collect()
}

fn to_json(yaml: &Yaml) -> Value {
    match yaml {
        Yaml::Real(text) => json!(text.parse::<f64>().unwrap()),
        Yaml::Integer(n) => json!(n),
        Yaml::String(s) => json!(s),
        Yaml::Boolean(b) => json!(b),
        Yaml::Array(items) => Value::Array(items.iter().map(to_json).collect()),
        Yaml::Hash(map) => {
            Value::Object(map.iter().map(|(k, v)| (k.as_str().expect("string keys").to_string(), to_json(v))).collect())
        }
        Yaml::Null => Value::Null,
        other => panic!("unexpected YAML node {other:?}"),
    }
}

/// A small JSON Schema: `type`, `required`, `properties` (objects refuse other keys),
/// `items`, `enum`, `minimum`.
fn validate(value: &Value, schema: &Value, at: &str, errors: &mut Vec<String>) {
    if let Some(allowed) = schema.get("enum").and_then(Value::as_array) {
        if !allowed.contains(value) {
            errors.push(format!("{at}: {value} is not one of {allowed:?}"));
        }
    }
    let ok = match schema["type"].as_str() {
        Some("object") => value.is_object(),
        Some("array") => value.is_array(),
        Some("string") => value.is_string(),
        Some("integer") => value.is_i64(),
        Some("int-or-string") => value.is_i64() || value.is_string(),
        Some(other) => panic!("schema type {other}"),
        None => true,
    };
    if !ok {
        errors.push(format!("{at}: expected {}, found {value}", schema["type"]));
        return;
    }
    if let (Some(min), Some(n)) = (schema.get("minimum").and_then(Value::as_i64), value.as_i64()) {
        if n < min {
            errors.push(format!("{at}: {n} is below {min}"));
        }
    }
    if let Some(object) = value.as_object() {
        for key in schema["required"].as_array().into_iter().flatten() {
            if !object.contains_key(key.as_str().unwrap()) {
                errors.push(format!("{at}: missing {key}"));
            }
        }
        let properties = schema["properties"].as_object();
        for (key, item) in object {
            match properties.and_then(|p| p.get(key)) {
                Some(sub) => validate(item, sub, &format!("{at}.{key}"), errors),
                None if schema.get("additionalProperties") == Some(&json!(true)) => {}
                None => errors.push(format!("{at}: unknown field {key:?}")),
            }
        }
    }
    if let (Some(items), Some(schema)) = (value.as_array(), schema.get("items")) {
        for (i, item) in items.iter().enumerate() {
            validate(item, schema, &format!("{at}[{i}]"), errors);
        }
    }
}

/// The fields of Kubernetes' `v1/PersistentVolumeClaim` and `batch/v1/Job` the recipes
/// use, transcribed from the Kubernetes API reference (v1.31): every other key is refused,
/// so a misspelt field fails here instead of being dropped by the API server.
fn kubernetes_schema(kind: &str) -> Value {
    let string = json!({"type": "string"});
    let count = json!({"type": "integer", "minimum": 0});
    let metadata = json!({"type": "object", "required": ["name"], "properties": {
        "name": string, "namespace": string,
        "labels": {"type": "object", "additionalProperties": true},
        "annotations": {"type": "object", "additionalProperties": true}}});
    let quantities = json!({"type": "object", "properties": {
        "cpu": {"type": "int-or-string"}, "memory": string, "ephemeral-storage": string, "storage": string}});
    let env = json!({"type": "array", "items": {"type": "object", "required": ["name"], "properties": {
        "name": string, "value": string, "valueFrom": {"type": "object", "additionalProperties": true}}}});
    let container = json!({"type": "object", "required": ["name", "image"], "properties": {
        "name": string, "image": string, "imagePullPolicy": {"enum": ["Always", "IfNotPresent", "Never"]},
        "command": {"type": "array", "items": string}, "args": {"type": "array", "items": string},
        "workingDir": string, "env": env,
        "resources": {"type": "object", "properties": {"requests": quantities, "limits": quantities}},
        "volumeMounts": {"type": "array", "items": {"type": "object", "required": ["name", "mountPath"],
            "properties": {"name": string, "mountPath": string, "readOnly": {"type": "boolean"}}}}}});
    let volume = json!({"type": "object", "required": ["name"], "properties": {
        "name": string,
        "persistentVolumeClaim": {"type": "object", "required": ["claimName"], "properties": {
            "claimName": string, "readOnly": {"type": "boolean"}}},
        "emptyDir": {"type": "object", "additionalProperties": true}}});
    match kind {
        "PersistentVolumeClaim" => json!({"type": "object", "required": ["apiVersion", "kind", "metadata", "spec"],
            "properties": {"apiVersion": {"enum": ["v1"]}, "kind": {"enum": ["PersistentVolumeClaim"]},
            "metadata": metadata, "spec": {"type": "object", "required": ["accessModes", "resources"], "properties": {
                "accessModes": {"type": "array", "items": {"enum": ["ReadWriteOnce", "ReadOnlyMany", "ReadWriteMany", "ReadWriteOncePod"]}},
                "storageClassName": string,
                "resources": {"type": "object", "properties": {"requests": quantities}}}}}}),
        "Job" => json!({"type": "object", "required": ["apiVersion", "kind", "metadata", "spec"],
            "properties": {"apiVersion": {"enum": ["batch/v1"]}, "kind": {"enum": ["Job"]},
            "metadata": metadata, "spec": {"type": "object", "required": ["template"], "properties": {
                "completionMode": {"enum": ["NonIndexed", "Indexed"]},
                "completions": count, "parallelism": count, "backoffLimit": count,
                "backoffLimitPerIndex": count, "maxFailedIndexes": count,
                "activeDeadlineSeconds": count, "ttlSecondsAfterFinished": count,
                "template": {"type": "object", "required": ["spec"], "properties": {
                    "metadata": {"type": "object", "additionalProperties": true},
                    "spec": {"type": "object", "required": ["containers", "restartPolicy"], "properties": {
                        "restartPolicy": {"enum": ["Never", "OnFailure"]},
                        "containers": {"type": "array", "items": container},
                        "volumes": {"type": "array", "items": volume}}}}}}}}}),
        other => panic!("the recipes hold no {other}"),
    }
}

fn check_kubernetes(name: &str) -> Vec<Value> {
    let documents = yaml_documents(name);
    for (i, document) in documents.iter().enumerate() {
        let kind = document["kind"].as_str().unwrap_or_else(|| panic!("{name}[{i}] has no kind"));
        let mut errors = Vec::new();
        validate(document, &kubernetes_schema(kind), &format!("{name}[{i}]"), &mut errors);
        assert!(errors.is_empty(), "{}", errors.join("\n"));
    }
    documents
}

/// A directory whose `ordo` is the binary under test, for scripts that call `ordo`.
fn path_with_ordo() -> String {
    let bin = std::env::temp_dir().join(format!("ordo-recipes-bin-{}", std::process::id()));
    std::fs::create_dir_all(&bin).unwrap();
    let link = bin.join("ordo");
    let _ = std::fs::remove_file(&link);
    std::os::unix::fs::symlink(env!("CARGO_BIN_EXE_ordo"), &link).unwrap();
    format!("{}:{}", bin.display(), std::env::var("PATH").unwrap_or_default())
}

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("ordo-recipes-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Runs `program args…` (a shell with `-c LINE`, or bash with a script file) in `dir`
/// with `env` and `ordo` on the PATH; returns stdout.
fn shell(program: &str, args: &[&str], dir: &Path, env: &BTreeMap<String, String>) -> String {
    let script = args.join(" ");
    let output = Command::new(program)
        .args(args)
        .current_dir(dir)
        .envs(env)
        .env("PATH", path_with_ordo())
        .output()
        .expect("the shell runs");
    assert!(output.status.success(), "{script}: {:?}\n{}", output.status, String::from_utf8_lossy(&output.stderr));
    String::from_utf8(output.stdout).unwrap()
}

/// `ordo sweep --json` of the same work, without its timing.
fn one_sweep(scenario: &str, strategy: &str) -> Value {
    let output = Command::new(env!("CARGO_BIN_EXE_ordo"))
        .args(["sweep", scenario, "--strategy", strategy, "--seeds", SEEDS, "--json"])
        .output()
        .unwrap();
    assert!(output.status.success());
    without_timing(&String::from_utf8(output.stdout).unwrap())
}

fn without_timing(json: &str) -> Value {
    let mut value: Value = serde_json::from_str(json).unwrap_or_else(|e| panic!("not JSON ({e}): {json}"));
    value.as_object_mut().unwrap().remove("timing").expect("timing");
    value
}

fn container_env(job: &Value) -> BTreeMap<String, String> {
    job["spec"]["template"]["spec"]["containers"][0]["env"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|e| (e["name"].as_str().unwrap().to_string(), e["value"].as_str().unwrap().to_string()))
        .collect()
}

fn shell_command(job: &Value) -> String {
    let command = job["spec"]["template"]["spec"]["containers"][0]["command"].as_array().unwrap();
    assert_eq!(command[..2], [json!("sh"), json!("-c")], "the recipes run one shell line");
    command[2].as_str().unwrap().to_string()
}

#[test]
fn the_kubernetes_indexed_job_validates_and_its_shards_merge_to_one_sweep() {
    let documents = check_kubernetes("ordo-sweep-job.yaml");
    let merge_documents = check_kubernetes("ordo-merge-job.yaml");
    let claim = documents.iter().find(|d| d["kind"] == "PersistentVolumeClaim").expect("a claim for the partials");
    let job = documents.iter().find(|d| d["kind"] == "Job").expect("the sweep job");
    let merge = &merge_documents[0];
    let spec = &job["spec"];
    assert_eq!(spec["completionMode"], "Indexed", "JOB_COMPLETION_INDEX exists only in Indexed jobs");
    let env = container_env(job);
    let shards: u64 = env["SHARDS"].parse().unwrap();
    assert_eq!(spec["completions"].as_u64(), Some(shards), "completions and SHARDS must agree");
    assert!(spec["parallelism"].as_u64().unwrap() <= shards);
    let command = shell_command(job);
    assert!(command.contains("--shard \"$JOB_COMPLETION_INDEX/$SHARDS\""), "{command}");
    for document in [job, merge] {
        let pod = &document["spec"]["template"]["spec"];
        assert_eq!(pod["volumes"][0]["persistentVolumeClaim"]["claimName"], claim["metadata"]["name"]);
        assert_eq!(pod["containers"][0]["volumeMounts"][0]["mountPath"], "/results");
    }
    // Run every index's command as the pod would, then the merge job's.
    let dir = scratch("k8s");
    let mut env = env;
    env.insert("SEEDS".into(), SEEDS.into());
    env.insert("RESULTS".into(), dir.display().to_string());
    for index in 0..shards {
        env.insert("JOB_COMPLETION_INDEX".into(), index.to_string());
        shell("sh", &["-c", &command], &dir, &env);
    }
    let mut merge_env = container_env(merge);
    merge_env.insert("RESULTS".into(), dir.display().to_string());
    let printed = shell("sh", &["-c", &shell_command(merge)], &dir, &merge_env);
    assert_eq!(without_timing(&printed), one_sweep(&env["SCENARIO"], &env["STRATEGY"]));
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn the_slurm_array_script_parses_and_its_tasks_merge_to_one_sweep() {
    let script = read("slurm-sweep.sh");
    let status = Command::new("bash").arg("-n").arg(recipe("slurm-sweep.sh")).status().unwrap();
    assert!(status.success(), "bash -n slurm-sweep.sh");
    let array = script.lines().find_map(|l| l.strip_prefix("#SBATCH --array=")).expect("an --array line");
    let (first, last) = array.split_once('-').unwrap();
    assert_eq!(first, "0", "shards are 0-based");
    let count: u64 = last.parse::<u64>().unwrap() + 1;
    let dir = scratch("slurm");
    let mut env = BTreeMap::from([
        ("SEEDS".to_string(), SEEDS.to_string()),
        ("RESULTS".to_string(), dir.join("results").display().to_string()),
        ("SLURM_ARRAY_TASK_COUNT".to_string(), count.to_string()),
    ]);
    for task in 0..count {
        env.insert("SLURM_ARRAY_TASK_ID".into(), task.to_string());
        shell("bash", &[&recipe("slurm-sweep.sh").display().to_string()], &dir, &env);
    }
    // The follow-up the script's header gives (sbatch --dependency … --wrap '…').
    let wrap = script.lines().find_map(|l| l.split_once("--wrap '")).expect("the merge step").1;
    let printed =
        shell("bash", &["-c", &format!("{} && cat results/sweep.json", wrap.trim_end_matches('\''))], &dir, &env);
    assert_eq!(without_timing(&printed), one_sweep("swarm", "key"));
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn the_ci_matrix_parses_and_its_jobs_merge_to_one_sweep() {
    let workflow = yaml_documents("github-actions.yml").remove(0);
    let env: BTreeMap<String, String> = workflow["env"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(k, v)| (k.clone(), v.as_str().unwrap().to_string()))
        .collect();
    let shards: u64 = env["SHARDS"].parse().unwrap();
    let jobs = &workflow["jobs"];
    let matrix: Vec<u64> =
        jobs["shard"]["strategy"]["matrix"]["shard"].as_array().unwrap().iter().map(|v| v.as_u64().unwrap()).collect();
    assert_eq!(matrix, (0..shards).collect::<Vec<_>>(), "the matrix lists shards 0..SHARDS-1");
    assert_eq!(jobs["merge"]["needs"], "shard", "the merge waits for every shard");
    let runs = |job: &str| -> Vec<String> {
        jobs[job]["steps"].as_array().unwrap().iter().filter_map(|s| s["run"].as_str().map(String::from)).collect()
    };
    let shard_step = runs("shard").into_iter().find(|r| r.contains("--shard")).expect("a shard step");
    let merge_step = runs("merge").into_iter().find(|r| r.contains("ordo merge")).expect("a merge step");
    let dir = scratch("ci");
    let mut env = env;
    env.insert("SEEDS".into(), SEEDS.into());
    for shard in matrix {
        shell("bash", &["-c", &shard_step.replace("${{ matrix.shard }}", &shard.to_string())], &dir, &env);
    }
    shell("bash", &["-c", &merge_step], &dir, &env);
    let merged = std::fs::read_to_string(dir.join("sweep.json")).unwrap();
    assert_eq!(without_timing(&merged), one_sweep(&env["SCENARIO"], &env["STRATEGY"]));
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn the_gnu_parallel_script_parses_and_runs() {
    let status = Command::new("bash").arg("-n").arg(recipe("parallel.sh")).status().unwrap();
    assert!(status.success(), "bash -n parallel.sh");
    let has_parallel = Command::new("parallel").arg("--version").output().is_ok_and(|o| o.status.success());
    if !has_parallel {
        assert!(
            std::env::var("ORDO_RECIPE_TESTS").as_deref() != Ok("required"),
            "GNU parallel is missing; .ci/run installs it (apt-get install parallel)"
        );
        eprintln!("note: GNU parallel is not installed; parallel.sh was only syntax-checked");
        return;
    }
    let dir = scratch("parallel");
    let env = BTreeMap::from([
        ("SEEDS".to_string(), SEEDS.to_string()),
        ("SHARDS".to_string(), "3".to_string()),
        ("RESULTS".to_string(), "results".to_string()),
        // GNU parallel asks for a citation once unless told it was seen.
        ("HOME".to_string(), dir.display().to_string()),
    ]);
    std::fs::create_dir_all(dir.join(".parallel")).unwrap();
    std::fs::write(dir.join(".parallel/will-cite"), "").unwrap();
    let printed = shell("bash", &[&recipe("parallel.sh").display().to_string()], &dir, &env);
    assert!(printed.contains("swept swarm"), "{printed}");
    let merged = std::fs::read_to_string(dir.join("results/sweep.json")).unwrap();
    assert_eq!(without_timing(&merged), one_sweep("swarm", "key"));
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn the_schema_check_catches_a_misspelt_field() {
    let mut job = yaml_documents("ordo-sweep-job.yaml").into_iter().find(|d| d["kind"] == "Job").unwrap();
    job["spec"]["completionsMode"] = json!("Indexed");
    job["spec"]["template"]["spec"]["restartPolicy"] = json!("Always");
    let mut errors = Vec::new();
    validate(&job, &kubernetes_schema("Job"), "job", &mut errors);
    assert!(errors.iter().any(|e| e.contains("unknown field \"completionsMode\"")), "{errors:?}");
    assert!(errors.iter().any(|e| e.contains("restartPolicy")), "{errors:?}");
}
