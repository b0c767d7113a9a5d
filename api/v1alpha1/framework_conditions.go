package v1alpha1

// The FrameworksKnown condition of a Control says whether every requirement its
// spec.frameworks names is in the catalog of its framework (internal/frameworks), so that a
// typo cannot silently drop the control from a framework's coverage. It does not change the
// control's evaluation or result.
const (
	// ConditionFrameworksKnown is True when every framework of spec.frameworks has a catalog
	// and every requirement is in it, False otherwise (see the reasons).
	ConditionFrameworksKnown = "FrameworksKnown"

	// ReasonRequirementsKnown: every requirement is in its framework's catalog (or the control
	// maps to no framework).
	ReasonRequirementsKnown = "RequirementsKnown"
	// ReasonUnknownRequirement: a requirement is not in its framework's catalog, where the
	// catalog lists every requirement of that theme or family, or its id is malformed: a typo.
	ReasonUnknownRequirement = "UnknownRequirement"
	// ReasonUncataloguedRequirement: a well-formed requirement id of a family the catalog
	// lists only in part (NIST SP 800-53, CIS sections 1-4): possibly right, possibly a typo;
	// it counts for nothing in the framework's coverage.
	ReasonUncataloguedRequirement = "UncataloguedRequirement"
	// ReasonUnknownFramework: a framework has no catalog. Custom frameworks are allowed; their
	// requirements are not checked.
	ReasonUnknownFramework = "UnknownFramework"
)
