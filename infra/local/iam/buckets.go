package iam

import (
	"fmt"
	"slices"
	"strings"
)

// Cloud Storage permissions checked by the local GCS front.
const (
	PermObjectsGet    = "storage.objects.get"
	PermObjectsList   = "storage.objects.list"
	PermObjectsCreate = "storage.objects.create"
	PermObjectsDelete = "storage.objects.delete"
	PermObjectsUpdate = "storage.objects.update"
	PermBucketsGet    = "storage.buckets.get"
	PermBucketsUpdate = "storage.buckets.update"
	PermBucketsDelete = "storage.buckets.delete"
)

// bucketRoles maps the bucket roles the local stack understands to their permissions. The
// legacy roles keep their GCS meaning: legacyBucketReader lists and reads bucket metadata but
// not objects, legacyBucketWriter adds create/delete, legacyObjectReader reads objects only.
var bucketRoles = map[string][]string{
	"roles/storage.objectViewer":       {PermObjectsGet, PermObjectsList},
	"roles/storage.objectCreator":      {PermObjectsCreate},
	"roles/storage.objectUser":         {PermObjectsGet, PermObjectsList, PermObjectsCreate, PermObjectsDelete, PermObjectsUpdate},
	"roles/storage.objectAdmin":        {PermObjectsGet, PermObjectsList, PermObjectsCreate, PermObjectsDelete, PermObjectsUpdate},
	"roles/storage.admin":              {PermObjectsGet, PermObjectsList, PermObjectsCreate, PermObjectsDelete, PermObjectsUpdate, PermBucketsGet, PermBucketsUpdate, PermBucketsDelete},
	"roles/storage.legacyBucketReader": {PermBucketsGet, PermObjectsList},
	"roles/storage.legacyBucketWriter": {PermBucketsGet, PermObjectsList, PermObjectsCreate, PermObjectsDelete},
	"roles/storage.legacyBucketOwner":  {PermBucketsGet, PermBucketsUpdate, PermObjectsList, PermObjectsCreate, PermObjectsDelete},
	"roles/storage.legacyObjectReader": {PermObjectsGet},
}

// SetBucketRoles replaces member's roles on bucket (no roles removes the member). Roles are
// full names such as "roles/storage.objectViewer"; member is a principal, a
// "principalSet://…" or "allUsers"/"allAuthenticatedUsers".
func (s *Server) SetBucketRoles(bucket, member string, roles ...string) error {
	for _, r := range roles {
		if _, ok := bucketRoles[r]; !ok {
			return fmt.Errorf("setting roles on bucket %s: unknown role %q", bucket, r)
		}
	}
	if bucket == "" || member == "" {
		return fmt.Errorf("setting bucket roles: empty bucket or member")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.buckets[bucket] == nil {
		s.buckets[bucket] = map[string][]string{}
	}
	if len(roles) == 0 {
		delete(s.buckets[bucket], member)
		return nil
	}
	s.buckets[bucket][member] = slices.Clone(roles)
	return nil
}

// Allowed reports whether principal holds permission on bucket, directly or through the
// principalSet of its workload identity pool.
func (s *Server) Allowed(principal, bucket, permission string) bool {
	return s.allowed(identity{principal: principal, sets: poolSet(principal)}, bucket, permission)
}

// AllowedToken reports whether the holder of an unexpired access token holds permission on
// bucket, with every principalSet the token is a member of.
func (s *Server) AllowedToken(token, bucket, permission string) bool {
	id, ok := s.lookup(token)
	return ok && s.allowed(id, bucket, permission)
}

func (s *Server) allowed(id identity, bucket, permission string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	grants := s.buckets[bucket]
	for _, m := range append(id.members(), "allUsers") {
		for _, r := range grants[m] {
			if slices.Contains(bucketRoles[r], permission) {
				return true
			}
		}
	}
	return false
}

// poolSet returns the pool-wide principalSet of a federated principal, if it is one.
func poolSet(principal string) []string {
	const pre = "principal://iam.googleapis.com/"
	if !strings.HasPrefix(principal, pre) {
		return nil
	}
	pool, _, ok := strings.Cut(strings.TrimPrefix(principal, pre), "/subject/")
	if !ok {
		return nil
	}
	return []string{"principalSet://iam.googleapis.com/" + pool + "/*"}
}
