-- Argo CD health of an isms.dev Control: can the operator evaluate it?
-- Progressing until the status describes the current generation and a first sweep is done;
-- Degraded when the policy, its parameters or its targets cannot be used (PolicyReady False)
-- or subjects could not be evaluated (result Error). A failing control (result Fail) is
-- Healthy: compliance is not health, unless the Control carries the annotation
-- isms.dev/health-includes-compliance: "true".
-- Uses only what Argo CD's default Lua VM opens (no string library).
local function findCondition(conditions, conditionType)
  if conditions == nil then
    return nil
  end
  for _, c in ipairs(conditions) do
    if c.type == conditionType then
      return c
    end
  end
  return nil
end

local function text(value)
  if value == nil then
    return ""
  end
  return tostring(value)
end

local function includesCompliance()
  local annotations = obj.metadata.annotations
  return annotations ~= nil and annotations["isms.dev/health-includes-compliance"] == "true"
end

local hs = {}
local status = obj.status
local generation = obj.metadata.generation
local ready = nil
if status ~= nil then
  ready = findCondition(status.conditions, "PolicyReady")
end

if status == nil or status.observedGeneration == nil or (generation ~= nil and status.observedGeneration < generation) then
  hs.status = "Progressing"
  if ready ~= nil and ready.observedGeneration == generation and ready.reason == "WatchPending" then
    hs.message = text(ready.message)
  else
    hs.message = "Waiting for the operator to evaluate generation " .. text(generation)
  end
  return hs
end

if ready == nil then
  hs.status = "Progressing"
  hs.message = "Waiting for the operator to compile the policy"
  return hs
end
if ready.status ~= "True" then
  if ready.reason == "WatchPending" then
    hs.status = "Progressing"
  else
    hs.status = "Degraded"
  end
  hs.message = text(ready.reason) .. ": " .. text(ready.message)
  return hs
end

local compliant = findCondition(status.conditions, "Compliant")
local verdict = ""
if compliant ~= nil then
  verdict = text(compliant.message)
end
local result = status.result
if result == nil or result == "" or result == "Pending" then
  hs.status = "Progressing"
  hs.message = "Pending: " .. verdict
elseif result == "Error" then
  hs.status = "Degraded"
  hs.message = "Error: " .. verdict
elseif result == "Fail" then
  if includesCompliance() then
    hs.status = "Degraded"
  else
    hs.status = "Healthy"
  end
  hs.message = "Fail: " .. verdict
elseif result == "Pass" or result == "NotApplicable" then
  hs.status = "Healthy"
  hs.message = result .. ": " .. verdict
else
  hs.status = "Unknown"
  hs.message = "Unknown result " .. text(result)
end
return hs
