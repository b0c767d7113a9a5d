-- Argo CD health of an isms.dev Policy: does its Rego compile in the operator's sandbox, and
-- is its parametersSchema usable? Progressing until the status describes the current
-- generation, Degraded when the Ready condition is False (CompileError, InvalidSchema).
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

local hs = {}
local status = obj.status
local generation = obj.metadata.generation
if status == nil or status.observedGeneration == nil or (generation ~= nil and status.observedGeneration < generation) then
  hs.status = "Progressing"
  hs.message = "Waiting for the operator to compile generation " .. text(generation)
  return hs
end
local ready = findCondition(status.conditions, "Ready")
if ready == nil then
  hs.status = "Progressing"
  hs.message = "Waiting for the operator to compile the policy"
elseif ready.status == "True" then
  hs.status = "Healthy"
  hs.message = "Compiled, digest " .. text(status.digest)
else
  hs.status = "Degraded"
  hs.message = text(ready.reason) .. ": " .. text(ready.message)
end
return hs
