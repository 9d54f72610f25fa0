module.exports = require('./log-audit').teardown;
