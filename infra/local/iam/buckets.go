package iam

import (
	"fmt"
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

// SetBucketRoles replaces member's unconditional roles on bucket (no roles removes them). Roles
// are full names such as "roles/storage.objectViewer"; member is a principal, a
// "principalSet://…" or "allUsers"/"allAuthenticatedUsers".
func (s *Server) SetBucketRoles(bucket, member string, roles ...string) error {
	for _, r := range roles {
		if _, ok := rolePermissions[r]; !ok || !strings.HasPrefix(r, "roles/storage.") {
			return fmt.Errorf("setting roles on bucket %s: unknown role %q", bucket, r)
		}
	}
	if bucket == "" || member == "" {
		return fmt.Errorf("setting bucket roles: empty bucket or member")
	}
	res := BucketResource(bucket).Name
	s.mu.Lock()
	s.revokeLocked(res, member)
	s.mu.Unlock()
	for _, r := range roles {
		if err := s.Grant(res, member, r); err != nil {
			return err
		}
	}
	return nil
}

// Allowed reports whether principal holds permission on bucket, directly or through the
// principalSet of its workload identity pool.
func (s *Server) Allowed(principal, bucket, permission string) bool {
	return s.Check(principal, BucketResource(bucket), permission)
}

// AllowedToken reports whether the holder of an unexpired access token holds permission on
// bucket, with every principalSet the token is a member of.
func (s *Server) AllowedToken(token, bucket, permission string) bool {
	return s.CheckToken(token, BucketResource(bucket), permission)
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
