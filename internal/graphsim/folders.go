package graphsim

import (
	"net/http"
	"strings"
)

// folderJSON renders f as Graph's mailFolder. Callers hold s.mu.
func (u *user) folderJSON(f *folder) map[string]any {
	unread := 0
	for _, m := range f.msgs {
		if r, _ := m.data["isRead"].(bool); !r {
			unread++
		}
	}
	return map[string]any{
		"id":               f.ID,
		"displayName":      f.DisplayName,
		"parentFolderId":   f.ParentID,
		"childFolderCount": len(f.children),
		"unreadItemCount":  unread,
		"totalItemCount":   len(f.msgs),
		"sizeInBytes":      len(f.msgs) * 4096,
		"isHidden":         f.Hidden,
	}
}

func (s *Server) handleGetFolder(w http.ResponseWriter, r *http.Request) {
	u := s.user(r.PathValue("uid"))
	s.mu.RLock()
	f := u.folder(r.PathValue("fid"))
	var out map[string]any
	if f != nil {
		out = u.folderJSON(f)
	}
	s.mu.RUnlock()
	if f == nil {
		s.notFound(w, r)
		return
	}
	out["@odata.context"] = baseURL(r) + "/v1.0/$metadata#users('" + u.ID + "')/mailFolders/$entity"
	writeJSON(w, http.StatusOK, out)
}

// handleListTopFolders lists msgfolderroot's children.
func (s *Server) handleListTopFolders(w http.ResponseWriter, r *http.Request) {
	s.listChildren(w, r, "msgfolderroot")
}

func (s *Server) handleChildFolders(w http.ResponseWriter, r *http.Request) {
	s.listChildren(w, r, r.PathValue("fid"))
}

// listChildren answers a folder's children; hidden ones only with
// includeHiddenFolders=true. The simulator returns all children in one page.
func (s *Server) listChildren(w http.ResponseWriter, r *http.Request, ref string) {
	u := s.user(r.PathValue("uid"))
	hidden := strings.EqualFold(r.URL.Query().Get("includeHiddenFolders"), "true")
	s.mu.RLock()
	f := u.folder(ref)
	var list []any
	if f != nil {
		for _, id := range f.children {
			c := u.folders[id]
			if c.Hidden && !hidden {
				continue
			}
			list = append(list, u.folderJSON(c))
		}
	}
	s.mu.RUnlock()
	if f == nil {
		s.notFound(w, r)
		return
	}
	if list == nil {
		list = []any{}
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"@odata.context": baseURL(r) + "/v1.0/$metadata#users('" + u.ID + "')/mailFolders('" + f.ID + "')/childFolders",
		"value":          list,
	})
}
