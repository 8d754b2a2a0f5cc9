package server

import "sort"

// Routes lists every route s's router answers, as "METHOD /path" with
// Echo's parameter names ("GET /api/v1/lessons/:id"), sorted, for tests
// that must cover each route: a route added later joins them by itself.
// Echo's internal not-found routes are left out. The tus endpoint is not
// an Echo route (it is served in front of the router, see withUploads).
func Routes(s *Server) []string {
	seen := map[string]bool{}
	var out []string
	for _, r := range s.echo.Routes() {
		key := r.Method + " " + r.Path
		if r.Method == "echo_route_not_found" || seen[key] {
			continue
		}
		seen[key] = true
		out = append(out, key)
	}
	sort.Strings(out)
	return out
}
