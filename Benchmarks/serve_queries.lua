-- wrk script: a different text query on every request (so the embedding cache never answers), URL-encoded.
local words = {"dog", "cat", "beach", "city", "night", "coffee", "mountain", "snow", "red", "car", "children", "running",
               "house", "forest", "river", "sunset", "portrait", "old", "bridge", "rocket", "flowers", "market", "train", "rain"}
local counter = 0
request = function()
  counter = counter + 1
  local n = counter
  local q = {}
  for i = 1, 4 do
    q[#q + 1] = words[(n % #words) + 1]
    n = math.floor(n / #words) + i * 7
  end
  q[#q + 1] = tostring(counter) .. tostring(math.random(1, 1000000))
  return wrk.format("GET", "/api/search?limit=30&q=" .. table.concat(q, "+"))
end
