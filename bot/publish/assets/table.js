// HEAR leaderboard table: sort by a column, filter by tier, task group and name.
// Vanilla JS over the rows already in the page; it reads data-* attributes only and never
// builds HTML from data (model names are untrusted), so nothing here can inject markup.
"use strict";
(function () {
  const table = document.getElementById("board");
  if (!table) return;
  const tbody = table.tBodies[0];
  const heads = Array.from(table.tHead.rows[0].cells);
  const tierFilter = document.getElementById("tier-filter");
  const domainFilter = document.getElementById("domain-filter");
  const modelFilter = document.getElementById("model-filter");
  const shown = document.getElementById("shown");
  let sortKey = null;

  function cellFor(row, key) {
    if (key === "model") return row.cells[1];
    if (key === "tier") return row.cells[2];
    return row.querySelector('td[data-col="' + key + '"]');
  }

  function rankRows(key) {
    for (const row of tbody.rows) {
      const cell = key && key.startsWith("c") ? cellFor(row, key) : null;
      const rank = cell ? cell.dataset.rank : "";
      row.cells[0].textContent = rank ? (cell.dataset.tied ? "=" : "#") + rank : "";
      row.cells[0].title = rank && cell.dataset.tied ? "statistically tied" : "";
    }
  }

  function sortBy(th) {
    const key = th.dataset.key;
    const type = th.dataset.type;
    let direction = th.getAttribute("aria-sort") === "none"
      ? (th.dataset.best === "asc" || type !== "score" ? "ascending" : "descending")
      : (th.getAttribute("aria-sort") === "ascending" ? "descending" : "ascending");
    for (const other of heads) if (other.hasAttribute("aria-sort")) other.setAttribute("aria-sort", "none");
    th.setAttribute("aria-sort", direction);
    const sign = direction === "ascending" ? 1 : -1;
    const rows = Array.from(tbody.rows);
    rows.sort(function (a, b) {
      const va = cellFor(a, key).dataset.value, vb = cellFor(b, key).dataset.value;
      if (va === "" || vb === "") {  // an empty score is "not run": always last
        if (va === vb) return a.dataset.order - b.dataset.order;
        return va === "" ? 1 : -1;
      }
      const cmp = type === "text" ? va.localeCompare(vb) : Number(va) - Number(vb);
      return cmp !== 0 ? sign * cmp : a.dataset.order - b.dataset.order;
    });
    for (const row of rows) tbody.appendChild(row);
    sortKey = key;
    rankRows(type === "score" ? key : null);
  }

  function filter() {
    const tier = tierFilter.value, domain = domainFilter.value;
    const needle = modelFilter.value.trim().toLowerCase();
    let count = 0;
    for (const row of tbody.rows) {
      const name = row.cells[1].dataset.value;
      // with a task group chosen, a model with no score in that group has nothing to show
      const inGroup = !domain || Array.from(row.querySelectorAll("td[data-domain]")).some(
        function (td) { return td.dataset.domain === domain && td.dataset.value !== ""; });
      const visible = (!tier || row.dataset.tier === tier) && inGroup &&
        (!needle || name.includes(needle));
      row.classList.toggle("hidden", !visible);
      if (visible) count += 1;
    }
    for (const el of table.querySelectorAll("[data-domain]")) {
      el.classList.toggle("col-hidden", Boolean(domain) && el.dataset.domain !== domain);
    }
    shown.textContent = count + " of " + tbody.rows.length + " models shown";
  }

  for (const th of heads) {
    const button = th.querySelector("button");
    if (button) button.addEventListener("click", function () { sortBy(th); });
  }
  tierFilter.addEventListener("change", filter);
  domainFilter.addEventListener("change", filter);
  modelFilter.addEventListener("input", filter);
  filter();
  rankRows(sortKey);
})();
