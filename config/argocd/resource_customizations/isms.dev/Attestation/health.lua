-- Argo CD health of an isms.dev Attestation: Progressing while it awaits an approver's
-- decision, Healthy once approved (or withdrawn by its submitter: it then stands for nothing),
-- Degraded when rejected (submit a new one). Whether the attested Control is current is the
-- Control's own health and status, not the attestation's.
-- Uses only what Argo CD's default Lua VM opens (no string library).
local function text(value)
  if value == nil then
    return ""
  end
  return tostring(value)
end

local hs = {}
local decision = obj.spec and obj.spec.decision
local submitter = text(obj.spec and obj.spec.submittedBy)
if decision == nil or decision.outcome == nil then
  hs.status = "Progressing"
  hs.message = "Submitted by " .. submitter .. "; awaiting an approver's decision"
  return hs
end
local by = " by " .. text(decision.decidedBy) .. " at " .. text(decision.decidedAt)
if decision.outcome == "Approved" then
  hs.status = "Healthy"
  hs.message = "Approved" .. by
elseif decision.outcome == "Withdrawn" then
  hs.status = "Healthy"
  hs.message = "Withdrawn" .. by
elseif decision.outcome == "Rejected" then
  hs.status = "Degraded"
  hs.message = "Rejected" .. by .. ": " .. text(decision.comment)
else
  hs.status = "Unknown"
  hs.message = "Unknown decision " .. text(decision.outcome)
end
return hs
