package ltiplatform

import (
	"html/template"
	"net/http"
)

// coursePage embeds the tool's login initiation in an iframe, as LMSs do,
// and answers LTI client-side postMessage storage requests
// (lti.capabilities, lti.put_data, lti.get_data) from the frame, keeping
// values per origin of the frame that stored them.
var coursePage = template.Must(template.New("course").Parse(`<!doctype html>
<html><head><meta charset="utf-8"><title>{{.Title}} · Test LMS</title></head>
<body>
<h1 id="course-title">{{.Title}}</h1>
<iframe id="tool" title="Lectern" src="{{.Src}}" width="1100" height="760" allow="autoplay; fullscreen"></iframe>
<script>
(function () {
  var stored = {};
  window.ltiStorageLog = [];
  window.addEventListener('message', function (event) {
    var data = event.data;
    if (!data || typeof data !== 'object' || typeof data.subject !== 'string') return;
    window.ltiStorageLog.push(data.subject);
    var reply = { message_id: data.message_id };
    var bucket = stored[event.origin] = stored[event.origin] || {};
    if (data.subject === 'lti.capabilities') {
      reply.subject = 'lti.capabilities.response';
      reply.supported_messages = [{ subject: 'lti.put_data' }, { subject: 'lti.get_data' }];
    } else if (data.subject === 'lti.put_data') {
      bucket[data.key] = data.value;
      reply.subject = 'lti.put_data.response'; reply.key = data.key; reply.value = data.value;
    } else if (data.subject === 'lti.get_data') {
      reply.subject = 'lti.get_data.response'; reply.key = data.key; reply.value = bucket[data.key];
    } else {
      return;
    }
    event.source.postMessage(reply, event.origin);
  });
})();
</script>
</body></html>`))

// handleCoursePage shows a resource link of a course to ?user= in an
// iframe, starting a fresh launch each time it is loaded.
func (p *Platform) handleCoursePage(w http.ResponseWriter, r *http.Request) {
	p.mu.Lock()
	c := p.contexts[r.PathValue("context")]
	_, linked := p.links[r.PathValue("link")]
	p.mu.Unlock()
	if c == nil || !linked {
		http.NotFound(w, r)
		return
	}
	m := p.ResourceLinkMessage(r.URL.Query().Get("user"), r.PathValue("link"))
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	_ = coursePage.Execute(w, struct {
		Title string
		Src   string
	}{c.Title, p.LoginURL(m, "_parent")})
}

// handleAddPage is a course's "add an activity" page: a deep linking
// request by ?user= in an iframe, started afresh on each load.
func (p *Platform) handleAddPage(w http.ResponseWriter, r *http.Request) {
	p.mu.Lock()
	c := p.contexts[r.PathValue("context")]
	p.mu.Unlock()
	if c == nil {
		http.NotFound(w, r)
		return
	}
	m := p.DeepLinkingMessage(r.URL.Query().Get("user"), c.ID)
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	_ = coursePage.Execute(w, struct {
		Title string
		Src   string
	}{c.Title, p.LoginURL(m, "_parent")})
}
