// The footer: which data serves, how old it is, and the state of Redis and AMI, from /health.
import { call, isObject, plural, text } from "./answers.js";
import { $ } from "./dom.js";

const DATASETS = {
  bundled: "the registry bundled with numlookup",
  imported: "an imported registry",
  portal: "the registry from the official portal",
};

function age(seconds) {
  const minutes = Math.floor(seconds / 60);
  if (minutes < 1) return "less than a minute";
  if (minutes < 90) return plural(minutes, "minute");
  const hours = Math.round(minutes / 60);
  return hours < 48 ? plural(hours, "hour") : plural(Math.floor(hours / 24), "day");
}

function datasetText(dataset) {
  if (!isObject(dataset)) {
    return "No dataset is loaded: Russian numbers are answered from libphonenumber alone.";
  }
  const what = DATASETS[dataset.source] || (dataset.source ? `the ${dataset.source} registry` : "");
  const parts = [];
  if (dataset.published) {
    const days = dataset.age_days;
    const old = !Number.isFinite(days) ? "" : days === 0 ? ", today" : `, ${plural(days, "day")} ago`;
    parts.push(`Data: ${what || "the registry"} published ${dataset.published}${old}.`);
  } else if (what) {
    parts.push(`Data: ${what}.`);
  }
  const built = Number.isFinite(dataset.age_seconds) ? `, built ${age(dataset.age_seconds)} ago` : "";
  parts.push(`${parts.length ? "Version" : "Data version"} ${text(dataset.version)}${built}.`);
  if (dataset.stale === true) parts.push("It is stale: update the data (numlookup data update).");
  return parts.join(" ");
}

function redisText(redis) {
  if (!isObject(redis) || !redis.configured) return "Redis: not used.";
  return redis.reachable === false ? "Redis: unreachable." : "Redis: connected.";
}

function amiText(ami) {
  if (!isObject(ami)) return "AMI: not run by this process.";
  const down = Array.isArray(ami.ami)
    ? ami.ami.filter((server) => isObject(server) && server.state !== "connected")
      .map((server) => `${text(server.server)} ${text(server.state)}`) : [];
  if (ami.ok === false || ami.connected === false) {
    return `AMI: not connected${down.length ? ` (${down.join(", ")})` : ""}.`;
  }
  return "AMI: connected.";
}

async function loadHealth() {
  const result = await call("health");
  const footer = $("health");
  if (result.failed || !isObject(result.body)) {
    $("health-data").textContent = "The service's state is unknown: /health did not answer.";
    $("health-redis").textContent = "";
    $("health-ami").textContent = "";
    footer.className = "warn";
  } else {
    const health = result.body;
    $("health-data").textContent = datasetText(health.dataset);
    $("health-redis").textContent = redisText(health.redis);
    $("health-ami").textContent = amiText(health.ami);
    footer.className = health.status === "ok" ? "" : "warn";
    footer.dataset.status = text(health.status);
  }
  document.body.dataset.health = "done";
}

export function startFooter() {
  loadHealth();
  setInterval(loadHealth, 60000); // keeps the data's age and the Redis/AMI state current on an open page
}
