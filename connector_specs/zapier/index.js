module.exports = require('./app.json');
