-- Argo CD health of an isms.dev Risk: Degraded when its residual score is above its appetite
-- (WithinAppetite False) or its review is overdue or its acceptance expired (Reviewed False);
-- Progressing until the status describes the current generation, and while the verdict waits
-- for pending controls (WithinAppetite Unknown); Healthy otherwise.
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
  hs.message = "Waiting for the operator to score generation " .. text(generation)
  return hs
end
local within = findCondition(status.conditions, "WithinAppetite")
local reviewed = findCondition(status.conditions, "Reviewed")
if within == nil then
  hs.status = "Progressing"
  hs.message = "Waiting for the operator to score the risk"
elseif within.status == "False" then
  hs.status = "Degraded"
  hs.message = text(within.reason) .. ": " .. text(within.message)
elseif reviewed ~= nil and reviewed.status == "False" then
  hs.status = "Degraded"
  hs.message = text(reviewed.reason) .. ": " .. text(reviewed.message)
elseif within.status ~= "True" then
  hs.status = "Progressing"
  hs.message = text(within.reason) .. ": " .. text(within.message)
else
  hs.status = "Healthy"
  hs.message = text(within.message)
end
return hs
