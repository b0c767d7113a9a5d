package frameworks

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	ismsv1 "github.com/isms-operator/isms-operator/api/v1alpha1"
)

func TestGroupsOf(t *testing.T) {
	tests := map[string]struct {
		mappings []ismsv1.FrameworkMapping
		want     []GroupRef
	}{
		"ISO themes, each once, sorted": {
			mappings: []ismsv1.FrameworkMapping{{Framework: "iso27001-2022", Requirements: []string{"A.8.9", "A.5.15", "A.8.2"}}},
			want:     []GroupRef{{"iso27001-2022", "5"}, {"iso27001-2022", "8"}},
		},
		"unknown requirement and custom framework name no group": {
			mappings: []ismsv1.FrameworkMapping{
				{Framework: "iso27001-2022", Requirements: []string{"A.9.1"}},
				{Framework: "acme-internal", Requirements: []string{"SEC-1"}},
			},
		},
		"several frameworks": {
			mappings: []ismsv1.FrameworkMapping{
				{Framework: "soc2-2017", Requirements: []string{"CC6.1"}},
				{Framework: "iso27001-2022", Requirements: []string{"A.8.9"}},
			},
			want: []GroupRef{{"iso27001-2022", "8"}, {"soc2-2017", "CC6"}},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, Default().GroupsOf(tc.mappings)); diff != "" {
				t.Errorf("GroupsOf (-want +got):\n%s", diff)
			}
		})
	}
}
