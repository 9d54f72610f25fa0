module.exports = require('./log-audit').setup;
