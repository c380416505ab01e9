// Upload a spreadsheet to the import API, then open the job's page (which polls with htmx).
(function () {
  var form = document.getElementById("upload-form");
  if (!form) return;
  var out = document.getElementById("upload-status");
  form.addEventListener("submit", function (ev) {
    ev.preventDefault();
    out.textContent = "正在上传……";
    var button = form.querySelector("button");
    button.disabled = true;
    var data = new FormData(form);
    if (!data.get("item_code")) data.delete("item_code");
    fetch(form.action, { method: "POST", body: data, credentials: "same-origin" })
      .then(function (r) { return r.json().then(function (body) { return [r.status, body]; }); })
      .then(function (res) {
        var body = res[1];
        if (body && body.job_id) {
          window.location.href = form.getAttribute("data-job-page") + encodeURIComponent(body.job_id);
          return;
        }
        var err = (body && body.error) || {};
        var lines = [err.message || "上传失败"];
        (err.details || []).forEach(function (d) { lines.push((d.field ? d.field + "：" : "") + d.message); });
        out.textContent = lines.join("\n");
        out.className = "alert";
        button.disabled = false;
      })
      .catch(function () { out.textContent = "上传失败，请检查网络后重试。"; out.className = "alert"; button.disabled = false; });
  });
})();
